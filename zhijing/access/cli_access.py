"""The same access contract for the command line: a named user, a purpose, a policy
decision, need to know, masking and an audit event — no back door around the API's rules.
The commands that read a layer's data (the person file, a dataset's links) live with that
layer and decide here (docs/layers.md: access reads no platform data)."""

from __future__ import annotations

from zhijing.access import purpose as purposes
from zhijing.access.guard import AccessContext, load_user, permitted


def decide(settings, username: str, stated: str, permission: str) -> tuple[AccessContext, bool, str | None]:
    """The context a command runs in, whether policy and purpose allow ``permission``, and
    why not."""
    user = load_user(settings, username)
    check = purposes.check(settings, user.username, user.unit, stated)
    ok = check.ok and check.in_scope and permitted(user, permission, check)
    reason = None if ok else (check.reason or f"not permitted: {permission}")
    ctx = AccessContext(permission, user, stated, check.kind, client="cli", subjects=check.subjects, assigned=check.assigned,
                        topic=check.topic)
    return ctx, ok, reason
