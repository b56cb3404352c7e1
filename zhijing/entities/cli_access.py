"""The person file and a dataset's person links from the command line, under the access
contract of the API (access/cli_access.py): the person file is built by the very function
the API route uses, and every use is audited, refusals included."""

from __future__ import annotations

import hashlib

from fastapi import HTTPException

from zhijing.access import operator
from zhijing.access.audit import AuditEvent, append
from zhijing.access.cli_access import decide
from zhijing.access.masking import watermark
from zhijing.entities import links_export
from zhijing.entities.routes import masked_file
from zhijing.errors import AccessDenied


def consult(settings, username: str, stated: str, permission: str, master_id: str) -> dict:
    ctx, ok, reason = decide(settings, username, stated, permission)
    f = None
    if ok:
        try:
            f = masked_file(ctx, master_id, "cli persons show")
        except HTTPException as exc:  # 404: allowed, nothing there; 403: outside need to know
            ok, reason = exc.status_code != 403, str(exc.detail)
    append(AuditEvent(actor=ctx.user.username, unit=ctx.user.unit, operation="consult", outcome="allowed" if ok else "refused",
                      purpose=stated, records=[master_id], query="cli persons show", client="cli", reason=reason), settings)  # fmt: skip
    if f is None:
        raise AccessDenied(reason or "no such person")
    return f


def export_links(settings, username: str | None, stated: str, dataset: str, fmt: str) -> tuple[bytes, int]:
    """A dataset's person links for reconciliation, as the operator account (default) or a
    named user: purpose, policy (``person:export``), audit — refusals included. Returns the
    export's bytes and its row count."""
    links_export.check_dataset(settings, dataset)
    username = username or operator.ensure(settings)
    if not operator.is_reference(stated):
        stated = operator.reconciliation_ticket(settings, username, stated, dataset)
    ctx, ok, reason = decide(settings, username, stated, "person:export")
    user = ctx.user
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
