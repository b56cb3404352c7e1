"""The same access contract for the command line: a named user, a purpose, a policy
decision, need to know, masking and an audit event — no back door around the API's rules
(the person file is built by the very function the API route uses)."""

from __future__ import annotations

from fastapi import HTTPException

from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import AccessContext, load_user, permitted
from zhijing.errors import AccessDenied


def consult(settings, username: str, stated: str, permission: str, master_id: str) -> dict:
    from zhijing.entities.routes import masked_file

    user = load_user(settings, username)
    check = purposes.check(settings, user.username, user.unit, stated)
    ok = check.ok and check.in_scope and permitted(user, permission, check)
    reason = None if ok else (check.reason or f"not permitted: {permission}")
    ctx = AccessContext(permission, user, stated, check.kind, client="cli", subjects=check.subjects, assigned=check.assigned)
    f = None
    if ok:
        try:
            f = masked_file(ctx, master_id, "cli persons show")
        except HTTPException as exc:  # 404: allowed, nothing there; 403: outside need to know
            ok, reason = exc.status_code != 403, str(exc.detail)
    append(AuditEvent(actor=user.username, unit=user.unit, operation="consult", outcome="allowed" if ok else "refused",
                      purpose=stated, records=[master_id], query="cli persons show", client="cli", reason=reason), settings)  # fmt: skip
    if f is None:
        raise AccessDenied(reason or "no such person")
    return f


def export_links(settings, username: str | None, stated: str, dataset: str, fmt: str) -> tuple[bytes, int]:
    """A dataset's person links for reconciliation, as the operator account (default) or a
    named user: purpose, policy (``person:export``), audit — refusals included. Returns the
    export's bytes and its row count."""
    import hashlib

    from zhijing.access import operator
    from zhijing.access.masking import watermark
    from zhijing.entities import links_export

    links_export.check_dataset(settings, dataset)
    operator_name = operator.ensure(settings)
    user = load_user(settings, username or operator_name)
    if not operator.is_reference(stated):
        stated = operator.reconciliation_ticket(settings, user.username, stated, dataset)
    check = purposes.check(settings, user.username, user.unit, stated)
    ok = check.ok and check.in_scope and permitted(user, "person:export", check)
    reason = None if ok else (check.reason or "not permitted: person:export")
    query = f"cli persons links {dataset} ({fmt})"
    if ok:
        table = links_export.links(settings, dataset)
        data, export_id = links_export.render(table, fmt, watermark(user.username, stated))
        query += f": {table.num_rows} rows, export {export_id}, sha256 {hashlib.sha256(data).hexdigest()[:16]}"
    append(AuditEvent(actor=user.username, unit=user.unit, operation="disclose", outcome="allowed" if ok else "refused",
                      purpose=stated, records=[f"dataset:{dataset}"], query=query, client="cli", reason=reason), settings)  # fmt: skip
    if not ok:
        raise AccessDenied(reason or "refused")
    return data, table.num_rows
