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


def run_as(settings, username: str, stated: str, permission: str, query: str, action):
    """Run a route's own function from the command line under its access contract — the
    named user, the purpose, the policy decision for ``permission``, and one audit event
    (allowed or refused) naming what ``action(ctx)`` touched, as the guard writes it for the API."""
    from fastapi import HTTPException

    from zhijing.access.audit import AuditEvent, append
    from zhijing.errors import AccessDenied

    ctx, ok, reason = decide(settings, username, stated, permission)
    ctx.query = query
    result = None
    if ok:
        try:
            result = action(ctx)
        except HTTPException as exc:
            ok, reason = False, str(exc.detail)
    append(AuditEvent(actor=ctx.user.username, unit=ctx.user.unit, operation=ctx.operation, outcome="allowed" if ok else "refused",
                      purpose=stated, records=list(dict.fromkeys(ctx.records)), query=ctx.query, client="cli", reason=reason),
           settings)  # fmt: skip
    if not ok:
        raise AccessDenied(reason or "refused")
    return result
