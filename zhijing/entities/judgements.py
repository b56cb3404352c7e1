"""Analysts' judgements (same / different / unsure) on pairs of mentions, the review queue
of held-apart conflicts, and the history of merges and splits — in the metadata database.

Judgements are soft-deleted (reversible) and every later run applies them: "same" as a
must-link, "different" as a cannot-link (nomenklatura's resolver does the same)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

meta = sa.MetaData()
judgements = sa.Table(
    "er_judgements", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("mention_a", sa.String(128), nullable=False),
    sa.Column("mention_b", sa.String(128), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("deleted_at", sa.String(32)),
)  # fmt: skip
review = sa.Table(
    "er_review", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("mentions", sa.Text, nullable=False),
)  # fmt: skip
history = sa.Table(
    "er_history", meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("event", sa.String(16), nullable=False),
    sa.Column("master_id", sa.String(32), nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
)  # fmt: skip
VERDICTS = ("same", "different", "unsure")


def _engine(settings) -> sa.Engine:
    eng = sa.create_engine(settings.sqlalchemy_url("metadata"))
    meta.create_all(eng)
    return eng


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def judge(settings, a: str, b: str, verdict: str, username: str) -> int:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}")
    a, b = sorted((a, b))
    with _engine(settings).begin() as conn:
        conn.execute(sa.update(judgements).where(judgements.c.mention_a == a, judgements.c.mention_b == b,
                                                 judgements.c.deleted_at.is_(None)).values(deleted_at=_now()))  # fmt: skip
        return conn.execute(sa.insert(judgements).values(mention_a=a, mention_b=b, verdict=verdict, username=username,
                                                         at=_now())).inserted_primary_key[0]  # fmt: skip


def retract(settings, judgement_id: int) -> None:
    with _engine(settings).begin() as conn:
        conn.execute(sa.update(judgements).where(judgements.c.id == judgement_id).values(deleted_at=_now()))


def active(settings) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(must-link pairs, cannot-link pairs) from the judgements in force."""
    with _engine(settings).connect() as conn:
        rows = conn.execute(sa.select(judgements).where(judgements.c.deleted_at.is_(None))).all()
    must = [(r.mention_a, r.mention_b) for r in rows if r.verdict == "same"]
    cannot = [(r.mention_a, r.mention_b) for r in rows if r.verdict == "different"]
    return must, cannot


def record_run(settings, run_id: str, review_items: list[dict], events: list[dict]) -> None:
    with _engine(settings).begin() as conn:
        conn.execute(sa.delete(review))  # the queue shows the latest run's open conflicts
        if review_items:
            conn.execute(sa.insert(review), [{"run_id": run_id, "kind": r["kind"], "reason": r["reason"],
                                              "mentions": json.dumps(r["mentions"], ensure_ascii=False)} for r in review_items])  # fmt: skip
        if events:
            conn.execute(sa.insert(history), [{"run_id": run_id, "event": e["event"], "master_id": e["master_id"],
                                               "evidence": json.dumps(e, ensure_ascii=False)} for e in events])  # fmt: skip


def review_queue(settings) -> list[dict]:
    with _engine(settings).connect() as conn:
        return [{**dict(r._mapping), "mentions": json.loads(r.mentions)} for r in conn.execute(sa.select(review))]


def history_of(settings, master_id: str | None = None) -> list[dict]:
    q = sa.select(history).order_by(history.c.id)
    if master_id:
        q = q.where(history.c.master_id == master_id)
    with _engine(settings).connect() as conn:
        return [{**dict(r._mapping), "evidence": json.loads(r.evidence)} for r in conn.execute(q)]
