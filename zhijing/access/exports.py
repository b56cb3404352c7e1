"""Export requests (DESIGN.md §2.8): every export of person data states its reason; one
above the configured size or grade waits for a second officer's approval (双人审批) before
it can be downloaded — once. The requests live in the metadata database; each step is
also an audit event written by the route that takes it.

States: ``pending`` (waits for approval) → ``ready`` → ``downloaded``, or ``pending`` →
``rejected`` (the approver's stated reason kept beside it). A request that needs no
approval starts ``ready``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models
from zhijing.errors import AccessDenied, ZhijingError

requests = sa.Table(
    "acc_export_requests", models.metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("master_id", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(96), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.String(64), nullable=False),
    sa.Column("requested_at", sa.String(32), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("grade", sa.String(16), nullable=False),
    sa.Column("needs_approval", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("approved_by", sa.String(64)),
    sa.Column("approved_at", sa.String(32)),
    sa.Column("export_id", sa.String(32)),
)  # fmt: skip
rejections = sa.Table(
    "acc_export_rejections", models.metadata,
    sa.Column("request_id", sa.String(24), primary_key=True),
    sa.Column("rejected_by", sa.String(64), nullable=False),
    sa.Column("rejected_at", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)  # fmt: skip
MIN_REASON = 4  # characters: "核查" alone says nothing; "移送检察院审查" does


class NotFound(ZhijingError):
    """No such request for this caller (unknown and someone else's answer alike)."""


def engine(settings) -> sa.Engine:
    models.engine_with(settings, rejections)
    return models.engine_with(settings, requests)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def needs_approval(settings, rows: int, grade: str) -> bool:
    """Above the configured size, or disclosing a field of the configured grade or above."""
    rule = settings.exports
    return rows > rule.approval_rows or models.CLEARANCE.get(grade, 1) >= models.CLEARANCE[rule.approval_grade]


def stated(reason: str | None) -> str:
    """The export's reason, or a refusal when there is none worth the name."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ZhijingError(f"state the reason for the export (at least {MIN_REASON} characters)")
    return reason


def create(settings, username: str, master_id: str, purpose: str, reason: str, rows: int, grade: str) -> dict:
    reason = stated(reason)
    need = needs_approval(settings, rows, grade)
    row = {"id": secrets.token_hex(8), "master_id": master_id, "purpose": purpose, "reason": reason[:500],
           "requested_by": username, "requested_at": _now(), "rows": rows, "grade": grade, "needs_approval": need,
           "status": "pending" if need else "ready", "approved_by": None, "approved_at": None, "export_id": None}  # fmt: skip
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(requests).values(**row))
    return row


# a request as it is read: with who rejected it, when and why (None unless rejected)
READ = sa.select(requests, rejections.c.rejected_by, rejections.c.rejected_at, rejections.c.reason.label("reject_reason")) \
    .select_from(requests.outerjoin(rejections, rejections.c.request_id == requests.c.id))  # fmt: skip


def get(settings, request_id: str) -> dict | None:
    with engine(settings).connect() as conn:
        r = conn.execute(READ.where(requests.c.id == request_id)).first()
    return dict(r._mapping) if r else None


def visible_to(settings, request_id: str, username: str, approver: bool) -> dict:
    """The request if ``username`` made it, or may approve it; else NotFound."""
    r = get(settings, request_id)
    if r is None or not (r["requested_by"] == username or (approver and r["status"] == "pending")):
        raise NotFound("no such export request")
    return r


def approve(settings, request_id: str, approver: str) -> dict:
    """The second officer's approval; never the requester's own."""
    with engine(settings).begin() as conn:
        r = conn.execute(sa.select(requests).where(requests.c.id == request_id)).first()
        if r is None or r.status != "pending":
            raise NotFound("no pending export request with this id")
        if r.requested_by == approver:
            raise AccessDenied("a second officer must approve: not the one who asked for the export")
        conn.execute(sa.update(requests).where(requests.c.id == request_id, requests.c.status == "pending")
                     .values(status="ready", approved_by=approver, approved_at=_now()))  # fmt: skip
    return get(settings, request_id)


def reject(settings, request_id: str, approver: str, reason: str) -> dict:
    """The second officer's refusal, with its stated reason; never of one's own request."""
    reason = stated(reason)
    with engine(settings).begin() as conn:
        r = conn.execute(sa.select(requests).where(requests.c.id == request_id)).first()
        if r is None or r.status != "pending":
            raise NotFound("no pending export request with this id")
        if r.requested_by == approver:
            raise AccessDenied("a second officer must decide: not the one who asked for the export")
        done = conn.execute(sa.update(requests).where(requests.c.id == request_id, requests.c.status == "pending")
                            .values(status="rejected")).rowcount  # fmt: skip
        if done != 1:
            raise NotFound("no pending export request with this id")
        conn.execute(sa.insert(rejections).values(request_id=request_id, rejected_by=approver, rejected_at=_now(), reason=reason[:500]))
    return get(settings, request_id)


def take(settings, request_id: str, username: str, purpose: str | None) -> dict:
    """Claim a ready request for its one download (by its requester, under its purpose)."""
    with engine(settings).begin() as conn:
        r = conn.execute(sa.select(requests).where(requests.c.id == request_id)).first()
        if r is None or r.requested_by != username:
            raise NotFound("no such export request")
        if r.purpose != purpose:
            raise AccessDenied("download under the purpose the export was requested for")
        if r.status != "ready":
            raise AccessDenied("awaiting a second officer's approval" if r.status == "pending" else "already downloaded once")
        done = conn.execute(sa.update(requests).where(requests.c.id == request_id, requests.c.status == "ready")
                            .values(status="downloaded")).rowcount  # fmt: skip
        if done != 1:
            raise AccessDenied("already downloaded once")
    return dict(r._mapping)


def release(settings, request_id: str) -> None:
    """Give a download back when building the file failed."""
    with engine(settings).begin() as conn:
        conn.execute(sa.update(requests).where(requests.c.id == request_id, requests.c.status == "downloaded",
                                               requests.c.export_id.is_(None)).values(status="ready"))  # fmt: skip


def mark(settings, request_id: str, export_id: str) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.update(requests).where(requests.c.id == request_id).values(export_id=export_id))


def listed(settings, username: str, purpose: str, approver: bool) -> list[dict]:
    """Under ``purpose``: the caller's own requests, and (for approvers) those awaiting approval."""
    who = requests.c.requested_by == username
    if approver:
        who = sa.or_(who, requests.c.status == "pending")
    q = READ.where(requests.c.purpose == purpose, who).order_by(requests.c.requested_at.desc()).limit(200)
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def of_requester(settings, username: str, limit: int = 200) -> list[dict]:
    """``username``'s own requests under every purpose, newest first (their 我的导出申请)."""
    q = READ.where(requests.c.requested_by == username).order_by(requests.c.requested_at.desc()).limit(limit)
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def every(settings, status: str | None = None, limit: int = 500) -> list[dict]:
    """Every request under every purpose, newest first (督察 reads them; no one decides here)."""
    q = READ.order_by(requests.c.requested_at.desc()).limit(limit)
    if status:
        q = q.where(requests.c.status == status)
    with engine(settings).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
