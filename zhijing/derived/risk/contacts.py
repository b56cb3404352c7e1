""" "六同" contact tracing for public-health emergencies (同列车、同航班、同住宿、同公交、
同办公、同住户) — only under a declared emergency purpose, only for the index cases the
emergency names (its scope), only until it expires; every trace is audited.

Ranking: co-location lists are low-precision, so contacts are ranked by closeness —
same household first (the hukou's 户号, or the dwelling of a 流动人口 residence
registration), then the same room-night overlap, seat rows apart on trains and flights, a
shared bus trip, a shared workplace — each with its proximity and duration."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.access import purpose as purposes
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import load_user
from zhijing.config import Settings
from zhijing.derived.risk import data
from zhijing.errors import AccessDenied

NAME, VERSION = "contacts", "1"
TRAIN_ROWS, FLIGHT_ROWS = 3, 3
WEIGHT = {"household": 1.0, "lodging": 0.8, "train": 0.7, "flight": 0.7, "bus": 0.5, "workplace": 0.4}

# (channel, dataset, role, SQL of (record_id, grp, pos, t0, t1) — one group per shared space)
CHANNELS = [
    (
        "train",
        "rail_ticket",
        "passenger",
        """SELECT ticket_no AS record_id, train_no || '|' || CAST(CAST(dep_time AS DATE) AS VARCHAR)
        || '|' || coach AS grp, TRY_CAST(substr(seat, 1, 2) AS INT) AS pos, dep_time AS t0, dep_time + INTERVAL 2 HOUR AS t1 FROM rail_ticket""",
    ),
    (
        "flight",
        "flight_ticket",
        "passenger",
        """SELECT PNR_SEG AS record_id, FLIGHT_NO || '|' || CAST(CAST(DEP_TIME AS DATE) AS VARCHAR) AS grp,
        TRY_CAST(regexp_extract(SEAT, '^[0-9]+') AS INT) AS pos, DEP_TIME AS t0, DEP_TIME + INTERVAL 2 HOUR AS t1 FROM flight_ticket""",
    ),
    (
        "lodging",
        "lodging",
        "guest",
        """SELECT 入住单号 AS record_id, 旅馆编码 AS grp, NULL::INT AS pos, 入住时间 AS t0, 退房时间 AS t1 FROM lodging""",
    ),
    (
        "bus",
        "coach_ticket",
        "passenger",
        """SELECT 票号 AS record_id, 班次 || '|' || CAST(发车时间 AS VARCHAR) AS grp,
        TRY_CAST(座位号 AS INT) AS pos, 发车时间 AS t0, 发车时间 + INTERVAL 2 HOUR AS t1 FROM coach_ticket""",
    ),
    (
        "workplace",
        "enterprise_person",
        "officer",
        """SELECT rec_id AS record_id, uscc AS grp, NULL::INT AS pos, NULL::TIMESTAMPTZ AS t0,
        NULL::TIMESTAMPTZ AS t1 FROM enterprise_person""",
    ),
    (
        "household",
        "hukou_person",
        "self",
        """SELECT RKBM AS record_id, HH AS grp, NULL::INT AS pos, NULL::TIMESTAMPTZ AS t0,
        NULL::TIMESTAMPTZ AS t1 FROM hukou_person""",
    ),
    (  # a household registered elsewhere (非本地户籍) lives together at its registered dwelling
        "household",
        "floating_person",
        "self",
        """SELECT DJBH AS record_id, 'ZZ|' || DZBM AS grp, NULL::INT AS pos, NULL::TIMESTAMPTZ AS t0,
        NULL::TIMESTAMPTZ AS t1 FROM floating_person""",
    ),
]


LINKS = """CREATE OR REPLACE TEMP TABLE links AS SELECT split_part(mention_id, '|', 1) AS dataset,
    split_part(mention_id, '|', 2) AS record_id, split_part(mention_id, '|', 3) AS role, master_id FROM person_links"""


def _channel(con: duckdb.DuckDBPyConnection, channel: str, dataset: str, role: str, sql: str) -> pd.DataFrame:
    """Everyone sharing a space (group) with an index case in one dataset, in one join."""
    pairs = con.execute(f"""
        WITH r AS ({sql}),
        l AS (SELECT record_id, master_id FROM links WHERE dataset = '{dataset}' AND role = '{role}'),
        mine AS (SELECT r.*, l.master_id FROM r JOIN l USING (record_id) WHERE l.master_id IN (SELECT master_id FROM idx)),
        w AS (SELECT r.*, l.master_id FROM r JOIN l USING (record_id) WHERE r.grp IN (SELECT grp FROM mine))
        SELECT mine.master_id AS index_master, w.master_id AS contact_master, w.record_id,
               abs(w.pos - mine.pos) AS rows_apart,
               epoch(least(w.t1, mine.t1) - greatest(w.t0, mine.t0)) / 3600 AS hours
        FROM mine JOIN w ON w.grp = mine.grp AND w.master_id <> mine.master_id
    """).df()  # fmt: skip
    pairs = pairs[pairs.hours.isna() | (pairs.hours > 0)]
    if channel in ("train", "flight"):
        pairs = pairs[
            pairs.rows_apart.isna()
            | (pairs.rows_apart <= (TRAIN_ROWS if channel == "train" else FLIGHT_ROWS))
        ]
    closeness = 1 / (1 + pairs.rows_apart.fillna(0))
    return pairs.assign(channel=channel, dataset=dataset, score=WEIGHT[channel] * closeness)


def trace_on(con: duckdb.DuckDBPyConnection, index: list[str]) -> pd.DataFrame:
    """Contacts of the index cases (master ids), best first, over a connection holding the
    source datasets and ``person_links`` as views (a missing dataset is a missing channel)."""
    con.register("idx_frame", pd.DataFrame({"master_id": list(index)}))
    con.execute("CREATE OR REPLACE TEMP TABLE idx AS SELECT * FROM idx_frame")
    con.execute(LINKS)
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    found = [_channel(con, c, d, r, sql) for c, d, r, sql in CHANNELS if d in have]
    cols = [
        "index_master",
        "contact_master",
        "channel",
        "dataset",
        "record_id",
        "rows_apart",
        "hours",
        "score",
    ]
    found = [f for f in found if not f.empty]
    if not found:
        return pd.DataFrame(columns=cols)
    out = pd.concat(found, ignore_index=True)[cols]
    out = out[~out.contact_master.isin(index)]
    return out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


def trace_contacts(settings: Settings, index: list[str]) -> pd.DataFrame:
    """Every channel's contacts of the index cases (master ids) in the lake, best first."""
    con = duckdb.connect()
    for name in ["person_links", *{d for _, d, _, _ in CHANNELS}]:
        f = data.files(settings, name, "entities" if name == "person_links" else "clean")
        if f:
            con.read_parquet(f, union_by_name=True, hive_partitioning=True).create_view(name)
    if not data.files(settings, "person_links", "entities"):
        return trace_on(duckdb.connect(), [])
    return trace_on(con, index)


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
