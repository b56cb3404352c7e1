"""Purposes (用途): what a request for person-level data is for, checked against data.

Sent as ``X-Purpose: case:<AJBH>`` (or ``ticket:``, ``order:``, ``emergency:``). A purpose
is usable when it exists, is open, has not expired, and the caller is assigned to it or
supervises the unit that holds it (a station sees its own; the case grants more).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models

KINDS = ("case", "ticket", "order", "emergency", "contract")  # contract: a sharing contract (zhijing.sharing)


@dataclass(frozen=True)
class PurposeCheck:
    ok: bool
    kind: str
    ref: str | None
    in_scope: bool
    reason: str | None = None
    subjects: tuple[str, ...] = ()
    assigned: bool = False  # assigned to the purpose, not only supervising its unit
    expires_at: datetime | None = None  # a usable purpose is usable until then
    topic: str = ""  # what the purpose is about: a case's matter, a ticket's service

    def fresh(self) -> bool:
        """Still as checked: no expiry passed since (for checks remembered between requests)."""
        return self.expires_at is None or datetime.now(UTC) < self.expires_at


def unit_chain(conn, code: str) -> list[str]:
    """The unit and its ancestors, nearest first."""
    chain = []
    while code and code not in chain:
        chain.append(code)
        code = conn.execute(sa.select(models.units.c.parent_code).where(models.units.c.code == code)).scalar()
    return chain


def check(settings, username: str, user_unit: str, raw: str | None) -> PurposeCheck:
    if not raw:
        return PurposeCheck(False, "", None, False, "a purpose is required: case, ticket, order or emergency")
    kind = raw.split(":", 1)[0]
    if kind not in KINDS or ":" not in raw:
        return PurposeCheck(False, kind, raw, False, "purpose must be case:, ticket:, order:, emergency: or contract:")
    with models.engine(settings).connect() as conn:
        p = conn.execute(sa.select(models.purposes).where(models.purposes.c.ref == raw)).first()
        if p is None:
            return PurposeCheck(False, kind, raw, False, "unknown purpose")
        if p.status != "open":
            return PurposeCheck(False, kind, raw, False, "the purpose is closed")
        if p.expires_at is not None and _aware(p.expires_at) < datetime.now(UTC):
            return PurposeCheck(False, kind, raw, False, "the purpose has expired")
        assigned = conn.execute(sa.select(models.assignments).where(
            models.assignments.c.ref == raw, models.assignments.c.username == username)).first() is not None  # fmt: skip
        supervises = user_unit in unit_chain(conn, p.unit_code)[1:]
    subjects = tuple(s for s in (p.subjects or "").split(",") if s)
    expires = _aware(p.expires_at) if p.expires_at is not None else None
    topic = p.topic or ""
    if not (assigned or supervises):
        return PurposeCheck(True, kind, raw, False, "you are not assigned to this purpose", subjects, expires_at=expires, topic=topic)
    return PurposeCheck(True, kind, raw, True, None, subjects, assigned, expires, topic)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def open_purposes(settings, username: str) -> list[dict]:
    """The purposes a user may choose (for the console's selector)."""
    with models.engine(settings).connect() as conn:
        rows = conn.execute(
            sa.select(models.purposes).join(models.assignments, models.assignments.c.ref == models.purposes.c.ref)
            .where(models.assignments.c.username == username, models.purposes.c.status == "open")
        ).all()  # fmt: skip
    now = datetime.now(UTC)
    return [{"value": r.ref, "label": f"{r.title} ({r.ref})", "kind": r.kind}
            for r in rows if r.expires_at is None or _aware(r.expires_at) > now]  # fmt: skip
