"""Misuse detection over the audit trail (监督), for the 督察 department.

Rules run over reads — consult events and exports (disclose) alike — and over refusals,
and raise flags with their evidence (the audit sequence numbers); a reviewer confirms or
dismisses each flag, and the review is itself audited.

- unrelated_read: a person read under a purpose that does not name that person;
- bulk_read: more distinct persons in one hour than any plausible case needs;
- after_hours: a spike of reads at night (22:00–06:00 local) far above the user's norm;
- many_officers: one person looked up by many officers of different units;
- relatives: a user reading a member of their own household;
- bulk_export: more persons exported in one day (person files, case reports) without a
  second officer's approval than casework needs;
- unapproved_export: an export that needed a second officer's approval and has none, or
  was approved by the one who exported it;
- supervisor_read: a read under a purpose the reader only supervises, not assigned to;
- admin_read: an administrator or auditor reading a person's data (separation of duties);
- many_refusals: a user refused again and again in one day (probing the need to know);
- off_topic: a purpose used outside its subject — a warning opened under a purpose of
  another kind (a fraud-mule warning under a burglary case, or under a service ticket).

Disclosures under a sharing contract (``contract:``) are left out of the volume and duty rules
(bulk_read, bulk_export, unapproved_export, supervisor_read, admin_read): the contract meters
them by its quota, and its own rule (``enumeration``, raised by zhijing.sharing) watches probing.

A service ticket or a control order that names nobody opens nobody: every person read
under it is an unrelated read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.audit import AuditEvent, append
from zhijing.access.audit.store import log_for
from zhijing.localtime import zone

BULK_PER_HOUR = 50
NIGHT_MIN = 10
MANY_OFFICERS = 5
EXPORTS_PER_DAY = 10
REFUSALS_PER_DAY = 10
READS = ("consult", "disclose")  # an export reads the file it discloses
OVERSEERS = {"admin", "auditor"}
_UNAPPROVED = re.compile(r"request (\S+) approval required")
_SELF_APPROVED = re.compile(r"request (\S+) approved by (\S+)")
_NEEDS_TOPIC = re.compile(r" topic (\S+)$")  # a read that opens only under purposes of these topics (a|b)
NAMING = ("ticket:", "order:")  # purposes that open only the persons they name
METERED = "contract:"  # sharing contracts: disclosures metered by their quota and watched for enumeration (zhijing.sharing)

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


def _frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    df["time"] = pd.to_datetime(df.time, utc=True, format="ISO8601")
    df["local"] = df.time.dt.tz_convert(zone())  # night and day as the deployment's clocks say
    return df


def reads_frame(events: list[dict]) -> pd.DataFrame:
    """One row per (event, record) of allowed reads: consults and exports."""
    rows = [(e["seq"], e["time"], e["actor"], e.get("unit"), e.get("purpose"), e["operation"], e.get("query") or "", r)
            for e in events if e.get("operation") in READS and e.get("outcome") == "allowed" for r in e.get("records") or []]  # fmt: skip
    return _frame(rows, ["seq", "time", "actor", "unit", "purpose", "operation", "query", "record"])


def refusals_frame(events: list[dict]) -> pd.DataFrame:
    rows = [(e["seq"], e["time"], e["actor"]) for e in events if e.get("outcome") == "refused" and e.get("actor") != "anonymous"]
    return _frame(rows, ["seq", "time", "actor"])


def detect(events: list[dict], subjects_of: Callable[[str], set[str]],
           household_of: Callable[[str], str | None], home_of: Callable[[str], str | None],
           roles_of: Callable[[str], set[str]] | None = None,
           assigned_of: Callable[[str], set[str]] | None = None,
           topic_of: Callable[[str], str | None] | None = None) -> list[dict]:  # fmt: skip
    """All flags for ``events``; the callables say which persons a purpose names, which
    household a person record belongs to, which household a user lives in, a user's roles,
    who is assigned to a purpose (the last two switch on the duty rules) and what a purpose
    is about (switches on off_topic)."""
    df = reads_frame(events)
    out: list[dict] = []

    def flag(rule, actor, subject, summary, seqs):
        out.append({"rule": rule, "actor": actor, "subject": subject, "summary": summary, "evidence": sorted({int(s) for s in seqs})[:200]})

    _refusal_rules(refusals_frame(events), flag)
    if df.empty:
        return out
    unmetered = df[~df.purpose.fillna("").str.startswith(METERED)]  # a contract's volume is its quota's business
    _duty_rules(unmetered, flag, roles_of, assigned_of)

    if topic_of is not None:
        _topic_rule(df, flag, topic_of)
    for (actor, purpose), g in df.groupby(["actor", "purpose"]):
        named = subjects_of(purpose)
        if named or str(purpose).startswith(NAMING):
            stray = g[~g.record.isin(named)]
            for rec, h in stray.groupby("record"):
                flag("unrelated_read", actor, rec, f"{actor} read {rec}, not named by {purpose}", h.seq)
    unmetered = unmetered.assign(hour=unmetered.local.dt.floor("h"))
    for (actor, hour), g in unmetered.groupby(["actor", "hour"]):
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


def _topic_rule(df: pd.DataFrame, flag, topic_of) -> None:
    """Reads that open only under purposes of some topics (a warning: the matters of its
    model) made under a purpose of another."""
    for e in df.drop_duplicates("seq").itertuples():
        needs = _NEEDS_TOPIC.search(e.query)
        if needs and e.purpose and topic_of(e.purpose) not in needs.group(1).split("|"):
            flag("off_topic", e.actor, e.purpose, f"{e.actor} used {e.purpose} ({topic_of(e.purpose) or 'no topic'}) "
                 f"for what opens under {needs.group(1)}", [e.seq])  # fmt: skip


def _refusal_rules(refused: pd.DataFrame, flag) -> None:
    refused["day"] = refused.local.dt.date.astype(str)
    for (actor, day), g in refused.groupby(["actor", "day"]):
        if len(g) >= REFUSALS_PER_DAY:
            flag("many_refusals", actor, day, f"{actor} was refused {len(g)} times on {day}", g.seq)


def _duty_rules(df: pd.DataFrame, flag, roles_of, assigned_of) -> None:
    """Rules over exports and over who reads: supervisors, administrators, auditors."""
    disclosed = df[df.operation == "disclose"]
    disclosed = disclosed.assign(day=disclosed.local.dt.date.astype(str))
    unseconded = disclosed[~disclosed["query"].str.contains(r"request \S+ approved by ", regex=True)]
    for (actor, day), g in unseconded.groupby(["actor", "day"]):  # a case report of 600 persons exports 600 files
        if len(g) > EXPORTS_PER_DAY:  # one row per person an export discloses
            flag("bulk_export", actor, day, f"{actor} exported {len(g)} person files without a second officer on {day}", g.seq)
    exported = disclosed.drop_duplicates("seq")
    for e in exported.itertuples():
        unapproved, approved = _UNAPPROVED.search(e.query), _SELF_APPROVED.search(e.query)
        if unapproved or (approved and approved.group(2) == e.actor):
            rid = (unapproved or approved).group(1)
            flag("unapproved_export", e.actor, rid, f"{e.actor} exported {e.record} without a second officer's approval", [e.seq])
    if assigned_of is not None:
        for (actor, purpose), g in df[df.purpose.notna()].groupby(["actor", "purpose"]):
            if actor not in assigned_of(purpose):
                flag("supervisor_read", actor, purpose, f"{actor} read {g.record.nunique()} persons under {purpose}, not assigned to it", g.seq)
    if roles_of is not None:
        for (actor, rec), g in df.groupby(["actor", "record"]):
            if roles_of(actor) & OVERSEERS:
                flag("admin_read", actor, rec, f"{actor} (administration or audit) read {rec}", g.seq)


def run(settings, subjects_of, household_of, home_of, roles_of=None, assigned_of=None, topic_of=None) -> int:
    """Detect over the whole audit log and store new flags; returns how many are new."""
    found = detect(log_for(settings).all_events(), subjects_of, household_of, home_of, roles_of, assigned_of, topic_of)
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
