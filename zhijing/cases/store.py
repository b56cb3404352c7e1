"""The workspace's items, kept in the metadata database beside the purposes they belong to.

Items are never deleted: removing one stamps ``removed_at`` and who removed it, so the
workspace's history stays readable by oversight.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from zhijing.access import models
from zhijing.localtime import shown

KINDS = ("subject", "search", "analysis", "pin", "note")
metadata = sa.MetaData()
items = sa.Table(
    "case_items", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_ref", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: subject ids, a query and its parameters, evidence rows
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True)),
    sa.Column("removed_by", sa.String(64)),
)  # fmt: skip


def engine(settings) -> sa.Engine:
    return models.engine_with(settings, metadata)


def add(settings, case_ref: str, kind: str, title: str, payload: dict[str, Any], author: str) -> int:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    with engine(settings).begin() as conn:
        return conn.execute(items.insert().values(case_ref=case_ref, kind=kind, title=title[:256],
                                                  payload=json.dumps(payload, ensure_ascii=False), author=author,
                                                  created_at=datetime.now(UTC))).inserted_primary_key[0]  # fmt: skip


def remove(settings, case_ref: str, item_id: int, who: str) -> bool:
    with engine(settings).begin() as conn:
        done = conn.execute(items.update().where(items.c.id == item_id, items.c.case_ref == case_ref, items.c.removed_at.is_(None))
                            .values(removed_at=datetime.now(UTC), removed_by=who))  # fmt: skip
    return done.rowcount == 1


def list_items(settings, case_ref: str) -> list[dict]:
    with engine(settings).connect() as conn:
        rows = conn.execute(sa.select(items).where(items.c.case_ref == case_ref, items.c.removed_at.is_(None))
                            .order_by(items.c.id)).mappings().all()  # fmt: skip
    return [{**dict(r), "payload": json.loads(r["payload"]), "created_at": shown(r["created_at"])} for r in rows]


def case_of(settings, case_ref: str) -> dict | None:
    with models.engine(settings).connect() as conn:
        p = conn.execute(sa.select(models.purposes).where(models.purposes.c.ref == case_ref)).mappings().first()
    return dict(p) if p else None


def close(settings, case_ref: str) -> None:
    """Close the case: its purpose is closed, so every later request under it is refused."""
    with models.engine(settings).begin() as conn:
        conn.execute(models.purposes.update().where(models.purposes.c.ref == case_ref).values(status="closed"))


def cases_of(settings, username: str) -> list[dict]:
    """The cases a user is assigned to, open and closed, with their item counts."""
    with models.engine(settings).connect() as conn:
        rows = conn.execute(
            sa.select(models.purposes.c.ref, models.purposes.c.title, models.purposes.c.status)
            .join(models.assignments, models.assignments.c.ref == models.purposes.c.ref)
            .where(models.assignments.c.username == username, models.purposes.c.kind == "case")
            .order_by(models.purposes.c.ref)).mappings().all()  # fmt: skip
    with engine(settings).connect() as conn:
        counts = dict(conn.execute(sa.select(items.c.case_ref, sa.func.count()).where(items.c.removed_at.is_(None))
                                   .group_by(items.c.case_ref)).all())  # fmt: skip
    return [{**dict(r), "items": counts.get(r["ref"], 0)} for r in rows]
