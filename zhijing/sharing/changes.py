"""The change log subscriptions deliver from: a death registered, a move out, a vehicle
transferred — each a row with a sequence number (the feed's cursor).

Changes come from the 户政 / 车管 officers who register them (``record``) and from comparing
the serving store's facts of subscribed persons with what was last seen (``subscribe.detect``).
A registered death also makes verification answer "not living".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.errors import ZhijingError
from zhijing.sharing.contracts import EVENTS, engine, metadata
from zhijing.sharing.memo import memo
from zhijing.standards import citizen_id as cid

changes = sa.Table(
    "sh_changes", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("citizen_id", sa.String(18), nullable=False, index=True),
    sa.Column("detail", sa.Text, nullable=False),  # JSON: what changed (new district, plate)
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_by", sa.String(64), nullable=False),
)  # fmt: skip


def valid_id(raw: str) -> str:
    n = cid.normalize(raw)
    if not n.ok:
        raise ZhijingError(f"not a valid citizen ID ({n.reason})")
    return n.value


def record(settings, kind: str, citizen_id: str, detail: dict | None = None, by: str = "system") -> int:
    """Append one change; returns its sequence number."""
    if kind not in EVENTS:
        raise ZhijingError(f"kind must be one of {', '.join(EVENTS)}")
    with engine(settings).begin() as conn:
        seq = conn.execute(sa.insert(changes).values(
            kind=kind, citizen_id=valid_id(citizen_id), detail=json.dumps(detail or {}, ensure_ascii=False),
            recorded_at=datetime.now(UTC), recorded_by=by)).inserted_primary_key[0]  # fmt: skip
    memo(settings).forget("dead")
    return seq


def since(settings, after: int, kinds: list[str] | None = None, citizen_ids: list[str] | None = None,
          limit: int = 1000) -> list[dict]:  # fmt: skip
    q = sa.select(changes).where(changes.c.seq > after).order_by(changes.c.seq).limit(limit)
    if kinds is not None:
        q = q.where(changes.c.kind.in_(kinds))
    if citizen_ids is not None:
        q = q.where(changes.c.citizen_id.in_(citizen_ids))
    with engine(settings).connect() as conn:
        return [{**dict(r._mapping), "detail": json.loads(r.detail)} for r in conn.execute(q)]


def deceased(settings, citizen_ids: list[str]) -> set[str]:
    """Those of ``citizen_ids`` whose death is registered (as known a second ago at most)."""
    if not citizen_ids:
        return set()
    return dead(settings) & set(citizen_ids)


def dead(settings) -> frozenset[str]:
    """Every citizen ID with a registered death (remembered for a second: read once a second, not once a call)."""

    def read() -> frozenset[str]:
        with engine(settings).connect() as conn:
            return frozenset(conn.execute(sa.select(changes.c.citizen_id).where(changes.c.kind == "death")).scalars())

    return memo(settings).get("dead", read)
