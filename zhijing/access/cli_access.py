"""The same access contract for the command line: a named user, a purpose, a policy
decision, masking and an audit event — no back door around the API's rules."""

from __future__ import annotations

from zhijing.access import masking, policy
from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import OUTSIDE, load_user, record_visible, subject
from zhijing.errors import AccessDenied


def consult(settings, username: str, stated: str, permission: str, master_id: str) -> dict:
    from zhijing.entities import person_file
    from zhijing.entities.routes import GRADES, KINDS, file_districts

    user = load_user(settings, username)
    check = purposes.check(settings, user.username, user.unit, stated)
    resource, _, action = permission.partition(":")
    ok = check.ok and check.in_scope and policy.allowed(subject(user), f"{resource}:api", action,
                                                         policy.Context(check.ok, check.kind, check.in_scope))  # fmt: skip
    reason = None if ok else (check.reason or f"not permitted: {permission}")
    f = person_file.person_file(settings, master_id) if ok else None
    if f is not None and not record_visible(user, check.kind, check.subjects, master_id, file_districts(f)):
        ok, reason = False, OUTSIDE
    append(AuditEvent(actor=user.username, unit=user.unit, operation="consult", outcome="allowed" if ok else "refused",
                      purpose=stated, records=[master_id], query="cli persons show", client="cli", reason=reason), settings)  # fmt: skip
    if not ok:
        raise AccessDenied(reason)
    if f is None:
        raise AccessDenied("no such person")
    f["facts"] = {k: [{**v, "value": masking.mask({k: v["value"]}, GRADES, user.clearance, KINDS)[k]} for v in vals]
                  for k, vals in f["facts"].items()}  # fmt: skip
    f.pop("mention_ids")
    return f
