"""Misuse detection over the audit trail (监督), for the 督察 department.

Rules run over consult events and raise flags with their evidence (the audit sequence
numbers); a reviewer confirms or dismisses each flag, and the review is itself audited.

- unrelated_read: a person read under a purpose that does not name that person;
- bulk_read: more distinct persons in one hour than any plausible case needs;
- after_hours: a spike of reads at night (22:00–06:00 local) far above the user's norm;
- many_officers: one person looked up by many officers of different units;
- relatives: a user reading a member of their own household.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.audit import AuditEvent, append
from zhijing.access.audit.store import log_for

BULK_PER_HOUR = 50
NIGHT_MIN = 10
MANY_OFFICERS = 5

flags = sa.Table(
    "acc_flags", models.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(64)),
    sa.Column("subject", sa.String(64)),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("reviewed_by", sa.String(64)),
    sa.Column("reviewed_at", sa.String(32)),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("rule", "actor", "subject", name="uq_flag"),
)  # fmt: skip


def reads_frame(events: list[dict]) -> pd.DataFrame:
    """One row per (event, record) of allowed consults."""
    rows = [(e["seq"], e["time"], e["actor"], e.get("unit"), e.get("purpose"), r)
            for e in events if e.get("operation") == "consult" and e.get("outcome") == "allowed" for r in e.get("records") or []]  # fmt: skip
    df = pd.DataFrame(rows, columns=["seq", "time", "actor", "unit", "purpose", "record"])
    df["time"] = pd.to_datetime(df.time, utc=True, format="ISO8601")
    df["local"] = df.time.dt.tz_convert("Asia/Shanghai")
    return df


def detect(events: list[dict], subjects_of: Callable[[str], set[str]],
           household_of: Callable[[str], str | None], home_of: Callable[[str], str | None]) -> list[dict]:  # fmt: skip
    """All flags for ``events``; the callables say which persons a purpose names, which
    household a person record belongs to, and which household a user lives in."""
    df = reads_frame(events)
    if df.empty:
        return []
    out: list[dict] = []

    def flag(rule, actor, subject, summary, seqs):
        out.append({"rule": rule, "actor": actor, "subject": subject, "summary": summary, "evidence": sorted({int(s) for s in seqs})[:200]})

    for (actor, purpose), g in df.groupby(["actor", "purpose"]):
        named = subjects_of(purpose)
        if named:
            stray = g[~g.record.isin(named)]
            for rec, h in stray.groupby("record"):
                flag("unrelated_read", actor, rec, f"{actor} read {rec}, not named by {purpose}", h.seq)
    df["hour"] = df.local.dt.floor("h")
    for (actor, hour), g in df.groupby(["actor", "hour"]):
        if g.record.nunique() > BULK_PER_HOUR:
            flag("bulk_read", actor, str(hour), f"{actor} read {g.record.nunique()} persons within one hour", g.seq)
    night = df[(df.local.dt.hour >= 22) | (df.local.dt.hour < 6)]
    for actor, g in night.groupby("actor"):
        per_night = g.groupby((g.local - pd.Timedelta(hours=6)).dt.date).record.nunique()  # a night belongs to its evening
        days = max(1, df[df.actor == actor].local.dt.date.nunique())
        if per_night.max() >= NIGHT_MIN and per_night.max() > 3 * (len(g) / days):
            flag("after_hours", actor, str(per_night.idxmax()), f"{actor} read {per_night.max()} persons at night", g.seq)
    for rec, g in df.groupby("record"):
        if g.actor.nunique() >= MANY_OFFICERS and g.unit.nunique() >= 3:
            flag("many_officers", None, rec, f"{rec} looked up by {g.actor.nunique()} officers of {g.unit.nunique()} units", g.seq)
    for actor, g in df.groupby("actor"):
        home = home_of(actor)
        if home:
            own = g[g.record.map(household_of) == home]
            for rec, h in own.groupby("record"):
                flag("relatives", actor, rec, f"{actor} read {rec}, a member of their own household", h.seq)
    return out


def run(settings, subjects_of, household_of, home_of) -> int:
    """Detect over the whole audit log and store new flags; returns how many are new."""
    found = detect(log_for(settings).all_events(), subjects_of, household_of, home_of)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    new = 0
    with models.engine(settings).begin() as conn:
        flags.create(conn, checkfirst=True)
        for f in found:
            exists = conn.execute(sa.select(flags.c.id).where(flags.c.rule == f["rule"], flags.c.actor == f["actor"],
                                                              flags.c.subject == f["subject"])).first()  # fmt: skip
            if exists is None:
                conn.execute(sa.insert(flags).values(rule=f["rule"], actor=f["actor"], subject=f["subject"], summary=f["summary"],
                                                     evidence=json.dumps(f["evidence"]), status="open", created_at=now))  # fmt: skip
                new += 1
    return new


def list_flags(settings, status: str | None = None) -> list[dict]:
    with models.engine(settings).begin() as conn:
        flags.create(conn, checkfirst=True)
        q = sa.select(flags).order_by(flags.c.id.desc())
        if status:
            q = q.where(flags.c.status == status)
        return [{**dict(r._mapping), "evidence": json.loads(r.evidence)} for r in conn.execute(q)]


def review(settings, flag_id: int, decision: str, reviewer: str, note: str = "") -> dict:
    if decision not in ("confirmed", "dismissed", "open"):
        raise ValueError("decision must be confirmed, dismissed or open")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with models.engine(settings).begin() as conn:
        flags.create(conn, checkfirst=True)
        if conn.execute(sa.select(flags.c.id).where(flags.c.id == flag_id)).first() is None:
            raise KeyError(flag_id)
        conn.execute(sa.update(flags).where(flags.c.id == flag_id).values(status=decision, reviewed_by=reviewer,
                                                                         reviewed_at=now, note=note))  # fmt: skip
    append(AuditEvent(actor=reviewer, operation="alter", outcome="allowed", query=f"oversight flag {flag_id} -> {decision}",
                      reason=note or None), settings)  # fmt: skip
    return {"id": flag_id, "status": decision, "reviewed_by": reviewer, "reviewed_at": now}
