"""Saved collisions (存档碰撞): a collision's windows and k kept under the case that
ran it, to be re-run as new data lands — visible only under the same purpose."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from zhijing.access import models
from zhijing.localtime import shown, shown_fields

metadata = sa.MetaData()
collisions = sa.Table(
    "wb_collisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("purpose", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),  # {"windows": [...], "k": k, "kinds": [...]}
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_run_at", sa.DateTime(timezone=True)),
    sa.Column("last_hits", sa.Integer),
)  # fmt: skip


def _engine(settings) -> sa.Engine:
    return models.engine_with(settings, metadata)


def save(settings, purpose: str, name: str, spec: dict, user: str, hits: int) -> int:
    now = datetime.now(UTC)
    with _engine(settings).begin() as conn:
        return conn.execute(sa.insert(collisions).values(
            purpose=purpose, name=name[:128] or "碰撞", spec=json.dumps(spec, ensure_ascii=False), created_by=user,
            created_at=now, last_run_at=now, last_hits=hits)).inserted_primary_key[0]  # fmt: skip


def listed(settings, purpose: str) -> list[dict]:
    with _engine(settings).connect() as conn:
        rows = conn.execute(sa.select(collisions).where(collisions.c.purpose == purpose).order_by(collisions.c.id)).mappings().all()
    return [shown_fields({**r, "spec": _shown_spec(json.loads(r["spec"]))}, "created_at", "last_run_at") for r in rows]


def _shown_spec(spec: dict) -> dict:
    """A saved spec as the API shows it: its windows' times, which the officer typed as wall
    time, with the deployment's offset."""
    def window(w):
        if not isinstance(w, dict):
            return w
        try:
            return {**w, **{k: shown(w[k], naive="local") for k in ("start", "end") if isinstance(w.get(k), str)}}
        except ValueError:
            return w

    return {**spec, "windows": [window(w) for w in spec.get("windows") or []]}


def get(settings, purpose: str, cid: int) -> dict | None:
    with _engine(settings).connect() as conn:
        r = conn.execute(sa.select(collisions).where(collisions.c.id == cid, collisions.c.purpose == purpose)).mappings().first()
    return {**r, "spec": json.loads(r["spec"])} if r else None


def ran(settings, cid: int, hits: int) -> None:
    with _engine(settings).begin() as conn:
        conn.execute(sa.update(collisions).where(collisions.c.id == cid).values(last_run_at=datetime.now(UTC), last_hits=hits))
