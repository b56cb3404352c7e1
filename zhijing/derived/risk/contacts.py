""" "六同" contact tracing for public-health emergencies (同列车、同航班、同住宿、同公交、
同办公、同住户) — only under a declared emergency purpose, only for the index cases the
emergency names (its scope), only until it expires; every trace is audited.

Read from the model (DESIGN §10), so every dataset mapped to it counts: the events whose
companion rule shares one space over a time (``service``: a train, a flight, a coach;
``overlap``: a hotel) — a ``near`` rule (passing one gate or checkpoint) is not a contact —
and the relations: the same household (``family``; for a person whose record names no
household, such as a 流动人口 residence registration, the registered dwelling), the same
workplace (``membership``).

Ranking: co-location lists are low-precision, so contacts are ranked by closeness —
same household first, then the same room-night overlap, seat rows apart on trains and
flights, a shared bus trip, a shared workplace — each with its proximity and duration."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import load_user
from zhijing.config import Settings
from zhijing.derived.risk import data
from zhijing.errors import AccessDenied
from zhijing.model import read
from zhijing.model import types as model_types
from zhijing.model.build import lit

NAME, VERSION = "contacts", "1"
WEIGHT = {"household": 1.0, "stay": 0.8, "train": 0.7, "flight": 0.7, "bus": 0.5, "workplace": 0.4}
OTHER_WEIGHT = 0.5  # a channel of a type or travel mode a deployment adds
ROWS = {"train": 3, "flight": 3}  # seat rows apart that still count as close (others: any seat)
MODES = {"rail": "train", "flight": "flight", "coach": "bus"}  # a trip's place kind → its channel
TRIP_HOURS = 2  # a trip's time together: its departure and the two hours after
COLUMNS = ["index_master", "contact_master", "channel", "dataset", "record_id", "rows_apart", "hours", "score"]
SPACE = "{channel} AS channel, dataset, record_id, {mention} AS mention, {grp} AS grp, {pos} AS pos, {t0} AS t0, {t1} AS t1"


def _space(channel: str, mention: str, grp: str, pos: str = "NULL::INT", t0: str = "NULL::TIMESTAMPTZ", t1: str = "NULL::TIMESTAMPTZ") -> str:
    return "SELECT " + SPACE.format(channel=channel, mention=mention, grp=grp, pos=pos, t0=t0, t1=t1)


def spaces(model: model_types.Model, have: set[str]) -> list[str]:
    """One SELECT of (channel, dataset, record_id, mention, grp, pos, t0, t1) per person role
    of each shared-space type and relation the connection holds (``have``: its views)."""
    out = []
    for name, ev in model.events.items():
        if name not in have or not ev.companion or ev.companion.match not in ("service", "overlap"):
            continue
        for role in ev.person_roles():
            who, where = read.q(role), f"WHERE {read.q(role)} IS NOT NULL AND place_id IS NOT NULL AND ts IS NOT NULL"
            if ev.companion.match == "service":
                modes = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in MODES.items())
                grp = "place_id || '|' || coalesce(carriage, '')" if "carriage" in ev.properties else "place_id"
                pos = "TRY_CAST(regexp_extract(seat, '^[0-9]+') AS INT)" if "seat" in ev.properties else "NULL::INT"
                out.append(_space(f"CASE place_kind {modes} ELSE coalesce(place_kind, {lit(name)}) END", who, grp, pos, "ts",
                                  f"ts + INTERVAL {TRIP_HOURS} HOUR") + f" FROM {read.q(name)} {where}")  # fmt: skip
            else:
                out.append(_space(lit(name), who, "place_id", t0="ts", t1="coalesce(ts_end, ts)")
                           + f" FROM {read.q(name)} {where}")  # fmt: skip
    if "family" in have:
        out.append(_space("'household'", "person", "'H|' || household") + " FROM family WHERE household IS NOT NULL")
    if "residence" in have:  # a record that names no household here: its registered dwelling
        named = ("AND NOT EXISTS (SELECT 1 FROM family f WHERE f.dataset = r.dataset AND f.record_id = r.record_id"
                 " AND f.household IS NOT NULL)") if "family" in have else ""  # fmt: skip
        code = read.q("addressCode")
        out.append(_space("'household'", "resident", f"'D|' || {code}") + f" FROM residence r WHERE {code} IS NOT NULL {named}")
    if "membership" in have:
        out.append(_space("'workplace'", "member", "'U|' || organization") + " FROM membership WHERE organization IS NOT NULL")
    return out


def trace_on(con: duckdb.DuckDBPyConnection, index: list[str], model: model_types.Model | None = None) -> pd.DataFrame:
    """Contacts of the index cases (master ids), best first, over a connection holding the
    model's tables as views named by type, and ``person_links`` (a missing type is a missing
    channel)."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    parts = spaces(model or model_types.packaged(), have)
    if not parts or "person_links" not in have:
        return pd.DataFrame(columns=COLUMNS)
    con.register("idx_frame", pd.DataFrame({"master_id": list(index)}))
    con.execute("CREATE OR REPLACE TEMP TABLE idx AS SELECT * FROM idx_frame")
    con.execute(f"CREATE OR REPLACE TEMP TABLE spaces AS {' UNION ALL '.join(parts)}")
    pairs = con.execute("""
        WITH mine AS (SELECT s.*, l.master_id FROM spaces s JOIN person_links l ON l.mention_id = s.mention
                      WHERE l.master_id IN (SELECT master_id FROM idx)),
        g AS (SELECT DISTINCT channel, grp FROM mine),
        w AS (SELECT s.*, l.master_id FROM spaces s JOIN g USING (channel, grp) JOIN person_links l ON l.mention_id = s.mention)
        SELECT mine.master_id AS index_master, w.master_id AS contact_master, w.channel, w.dataset, w.record_id,
               abs(w.pos - mine.pos) AS rows_apart,
               epoch(least(w.t1, mine.t1) - greatest(w.t0, mine.t0)) / 3600 AS hours
        FROM mine JOIN w ON w.channel = mine.channel AND w.grp = mine.grp AND w.master_id <> mine.master_id
    """).df()  # fmt: skip
    pairs = pairs[(pairs.hours.isna() | (pairs.hours > 0)) & ~pairs.contact_master.isin(index)]
    limit = pairs.channel.map(ROWS)
    pairs = pairs[pairs.rows_apart.isna() | limit.isna() | (pairs.rows_apart <= limit)]
    weight = pairs.channel.map(WEIGHT).fillna(OTHER_WEIGHT)
    out = pairs.assign(score=weight * (1 / (1 + pairs.rows_apart.fillna(0))))[COLUMNS]
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def trace_contacts(settings: Settings, index: list[str]) -> pd.DataFrame:
    """Every channel's contacts of the index cases (master ids) in the lake, best first."""
    con = duckdb.connect()
    model = model_types.load(settings)
    for name in model.events:
        if found := read.files(settings, name):
            con.read_parquet(found, union_by_name=True).create_view(name)
    if found := data.files(settings, data.LINKS):
        con.read_parquet(found, union_by_name=True, hive_partitioning=True).create_view("person_links")
    return trace_on(con, index, model)


def _usable(
    settings: Settings, username: str, unit: str, purpose: str | None, index: list[str]
) -> str | None:
    """None when the purpose allows tracing these index cases, else the reason."""
    check = purposes.check(settings, username, unit, purpose)
    if not check.ok or not check.in_scope:
        return check.reason or "purpose refused"
    if check.kind != "emergency":
        return "contact tracing needs a declared public-health emergency (emergency:…)"
    if not set(index) <= set(check.subjects):
        return "the emergency does not name these index cases"
    return None


def trace(settings: Settings, username: str, purpose: str | None, index: list[str]) -> pd.DataFrame:
    """Contact tracing through the access layer: refused (and the refusal audited) unless
    the caller is assigned to an open, unexpired emergency naming the index cases; the
    emergency is checked again when the answer is ready, so one that expired mid-query
    returns nothing."""
    user = load_user(settings, username)
    reason = _usable(settings, user.username, user.unit, purpose, index)
    out = None
    if reason is None:
        out = trace_contacts(settings, index)
        reason = _usable(settings, user.username, user.unit, purpose, index)
    shown = [] if reason else sorted(set(out.contact_master))
    append(AuditEvent(actor=user.username, unit=user.unit, operation="combine", outcome="refused" if reason else "allowed",
                      purpose=purpose, records=[*index, *shown], query="risk contacts trace", client="api",
                      reason=reason), settings)  # fmt: skip
    if reason:
        raise AccessDenied(reason)
    return out
