"""The relationship graph's edges (关系研判), derived by one lake job written once in SQL
and run on DuckDB or Spark (the governance engines' backend API).

Nodes are master entities, named by kind and key: ``P:<master person>``, ``A:<account>``,
``T:<phone>``, ``V:<plate>``, ``C:<USCC>``. Persons come in through the person links, so
an edge joins the people behind records, whatever ID variant a record carried.

Two outputs in the derived zone:

- ``graph_evidence``: one row per (edge, record that shows it): src, dst, type, ts,
  dataset, record_id — every edge can always be explained by its records;
- ``graph_edges``: one row per edge: edge_id, src, dst, type, first_seen, last_seen, weight
  (number of evidence records).

Co-occurrence edges (household, co-lodging, co-travel, co-involvement in a case) come from
groups — a household number (or, for a household registered elsewhere, the dwelling of its
residence registration), a hotel and check-in hour, a train, date and coach, a flight
and date, a coach trip, a case. A group larger than ``MAX_GROUP`` is a crowd, not a
relation, and gives no pairs (a full flight would otherwise give 45,000): the job's size
stays linear in the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from zhijing.config import Settings
from zhijing.errors import ZhijingError
from zhijing.governance.engines import make_engine
from zhijing.governance.engines.base import Engine
from zhijing.lake.store import current_files, publish
from zhijing.lake.zones import staging_dir

JOB_NAME = "derived.graph_edges"
JOB_REVISION = 1
MAX_GROUP = 40
OUTPUTS = ("graph_evidence", "graph_edges")
DIRECTED = ("call", "transfer", "holds", "owns", "drives", "uses", "company_role")
TYPES = ("household", "co_lodging", "co_travel", "co_case", "call", "transfer", "holds", "owns", "drives", "uses", "company_role")


@dataclass(frozen=True)
class Part:
    """One source of edges: the clean datasets it needs and its SQL."""

    needs: tuple[str, ...]
    sql: str


def _person(dataset: str, alias: str, role: str) -> str:
    """Join a clean dataset's rows (``alias``) to the master persons its ``role`` names."""
    return f"JOIN pl ON pl.dataset = '{dataset}' AND pl.role = '{role}' AND pl.record_id = {alias}._record_id"


# group members: (type, dataset, grp, m, rid, ts)
GROUPS = {
    "household": Part(("hukou_person",), f"""
        SELECT 'household' AS type, 'hukou_person' AS dataset, h.HH AS grp, 'P:' || pl.master_id AS m,
               h._record_id AS rid, CAST(NULL AS TIMESTAMP) AS ts
        FROM hukou_person h {_person('hukou_person', 'h', 'self')} WHERE h.HH IS NOT NULL"""),
    "residence": Part(("floating_person",), f"""
        SELECT 'household', 'floating_person', 'ZZ|' || f.DZBM, 'P:' || pl.master_id, f._record_id, CAST(NULL AS TIMESTAMP)
        FROM floating_person f {_person('floating_person', 'f', 'self')} WHERE f.DZBM IS NOT NULL"""),
    "co_lodging": Part(("lodging",), f"""
        SELECT 'co_lodging', 'lodging', l."旅馆编码" || '|' || CAST(date_trunc('hour', l."入住时间") AS VARCHAR),
               'P:' || pl.master_id, l._record_id, CAST(l."入住时间" AS TIMESTAMP)
        FROM lodging l {_person('lodging', 'l', 'guest')} WHERE l."旅馆编码" IS NOT NULL AND l."入住时间" IS NOT NULL"""),
    "rail": Part(("rail_ticket",), f"""
        SELECT 'co_travel', 'rail_ticket', r.train_no || '|' || CAST(CAST(r.dep_time AS DATE) AS VARCHAR) || '|' || coalesce(r.coach, ''),
               'P:' || pl.master_id, r._record_id, CAST(r.dep_time AS TIMESTAMP)
        FROM rail_ticket r {_person('rail_ticket', 'r', 'passenger')} WHERE r.train_no IS NOT NULL AND r.dep_time IS NOT NULL"""),
    "flight": Part(("flight_ticket",), f"""
        SELECT 'co_travel', 'flight_ticket', f."FLIGHT_NO" || '|' || CAST(CAST(f."DEP_TIME" AS DATE) AS VARCHAR),
               'P:' || pl.master_id, f._record_id, CAST(f."DEP_TIME" AS TIMESTAMP)
        FROM flight_ticket f {_person('flight_ticket', 'f', 'passenger')} WHERE f."FLIGHT_NO" IS NOT NULL AND f."DEP_TIME" IS NOT NULL"""),
    "coach": Part(("coach_ticket",), f"""
        SELECT 'co_travel', 'coach_ticket', c."班次" || '|' || CAST(date_trunc('hour', c."发车时间") AS VARCHAR),
               'P:' || pl.master_id, c._record_id, CAST(c."发车时间" AS TIMESTAMP)
        FROM coach_ticket c {_person('coach_ticket', 'c', 'passenger')} WHERE c."班次" IS NOT NULL AND c."发车时间" IS NOT NULL"""),
    "case": Part(("case_person",), f"""
        SELECT 'co_case', 'case_person', p."AJBH", 'P:' || pl.master_id, p._record_id, CAST(NULL AS TIMESTAMP)
        FROM case_person p {_person('case_person', 'p', 'self')} WHERE p."AJBH" IS NOT NULL"""),
}  # fmt: skip

# direct edges: (src, dst, type, ts, dataset, record_id)
DIRECT = {
    "call": Part(("call_record",), """
        SELECT 'T:' || caller, 'T:' || callee, 'call', CAST(start_time AS TIMESTAMP), 'call_record', _record_id
        FROM call_record WHERE caller IS NOT NULL AND callee IS NOT NULL AND caller <> callee"""),
    "transfer": Part(("bank_transaction",), """
        SELECT 'A:' || "付款账号", 'A:' || "收款账号", 'transfer', CAST("交易时间" AS TIMESTAMP), 'bank_transaction', _record_id
        FROM bank_transaction WHERE "付款账号" IS NOT NULL AND "收款账号" IS NOT NULL AND "付款账号" <> "收款账号" """),
    "account": Part(("bank_account",), f"""
        SELECT 'P:' || pl.master_id, 'A:' || a."账号", 'holds', CAST(a."开户日期" AS TIMESTAMP), 'bank_account', a._record_id
        FROM bank_account a {_person('bank_account', 'a', 'holder')} WHERE a."账号" IS NOT NULL"""),
    "company_account": Part(("bank_account",), """
        SELECT 'C:' || "统一社会信用代码", 'A:' || "账号", 'holds', CAST("开户日期" AS TIMESTAMP), 'bank_account', _record_id
        FROM bank_account WHERE "统一社会信用代码" IS NOT NULL AND "账号" IS NOT NULL"""),
    "subscriber": Part(("phone_subscriber",), f"""
        SELECT 'P:' || pl.master_id, 'T:' || s.msisdn, 'holds', CAST(s.activated AS TIMESTAMP), 'phone_subscriber', s._record_id
        FROM phone_subscriber s {_person('phone_subscriber', 's', 'holder')} WHERE s.msisdn IS NOT NULL"""),
    "phone_used": Part((), """
        SELECT 'P:' || master_id, 'T:' || phone, 'uses', seen_at, dataset, record_id
        FROM pl WHERE phone IS NOT NULL AND dataset <> 'phone_subscriber'"""),
    "vehicle": Part(("vehicle_registration",), f"""
        SELECT 'P:' || pl.master_id, 'V:' || v."号牌号码", 'owns', CAST(v."初次登记日期" AS TIMESTAMP), 'vehicle_registration', v._record_id
        FROM vehicle_registration v {_person('vehicle_registration', 'v', 'owner')} WHERE v."号牌号码" IS NOT NULL"""),
    "accident": Part(("traffic_accident",), f"""
        SELECT 'P:' || pl.master_id, 'V:' || t."号牌号码", 'drives', CAST(t."事故时间" AS TIMESTAMP), 'traffic_accident', t._record_id
        FROM traffic_accident t {_person('traffic_accident', 't', 'party')} WHERE t."号牌号码" IS NOT NULL"""),
    "legal_rep": Part(("enterprise",), f"""
        SELECT 'P:' || pl.master_id, 'C:' || e.uscc, 'company_role', CAST(e.reg_date AS TIMESTAMP), 'enterprise', e._record_id
        FROM enterprise e {_person('enterprise', 'e', 'legal_rep')} WHERE e.uscc IS NOT NULL"""),
    "officer": Part(("enterprise_person",), f"""
        SELECT 'P:' || pl.master_id, 'C:' || o.uscc, 'company_role', CAST(NULL AS TIMESTAMP), 'enterprise_person', o._record_id
        FROM enterprise_person o {_person('enterprise_person', 'o', 'officer')} WHERE o.uscc IS NOT NULL"""),
}  # fmt: skip

PAIRS = f"""
    WITH sized AS (SELECT type, grp FROM members GROUP BY type, grp HAVING count(DISTINCT m) BETWEEN 2 AND {MAX_GROUP}),
    g AS (SELECT m.* FROM members m JOIN sized s ON s.type = m.type AND s.grp = m.grp)
    SELECT a.m AS src, b.m AS dst, a.type AS type, a.ts AS ts, a.dataset AS dataset, a.rid AS record_id
    FROM g a JOIN g b ON a.type = b.type AND a.grp = b.grp AND a.m < b.m
    UNION ALL
    SELECT a.m, b.m, a.type, b.ts, b.dataset, b.rid
    FROM g a JOIN g b ON a.type = b.type AND a.grp = b.grp AND a.m < b.m"""

EDGES = """
    SELECT substr(md5(src || '|' || dst || '|' || type), 1, 16) AS edge_id, src, dst, type,
           min(ts) AS first_seen, max(ts) AS last_seen, count(DISTINCT dataset || '|' || record_id) AS weight
    FROM evidence_all GROUP BY src, dst, type"""


def _union(parts: list[str], columns: str) -> str:
    return " UNION ALL ".join(f"SELECT * FROM ({p}) AS q{i}" for i, p in enumerate(parts)) if parts else f"SELECT {columns} WHERE false"


def build(engine: Engine, inputs: dict[str, list[str]]) -> None:
    """Create ``evidence_all`` and ``edges_all`` in ``engine`` from the clean datasets and
    the person links named in ``inputs`` (dataset -> Parquet files)."""
    for name, files in inputs.items():
        engine.register_parquet(f"in_{name}" if name in ("person_links", "person_mentions") else name, files)
    engine.materialize("pl", """
        SELECT m.dataset, m.record_id, m.role, l.master_id, m.phone, CAST(m.seen_at AS TIMESTAMP) AS seen_at
        FROM in_person_links l JOIN in_person_mentions m ON m.mention_id = l.mention_id""")
    have = set(inputs)
    groups = [p.sql for p in GROUPS.values() if set(p.needs) <= have]
    direct = [p.sql for p in DIRECT.values() if set(p.needs) <= have]
    null_ts = "CAST(NULL AS TIMESTAMP)"
    engine.materialize("members", _union(groups, f"'' AS type, '' AS dataset, '' AS grp, '' AS m, '' AS rid, {null_ts} AS ts"))
    engine.materialize("evidence_all", f"""
        SELECT src, dst, type, ts, dataset, record_id FROM ({PAIRS}) AS pairs
        UNION ALL
        SELECT * FROM ({_union(direct, f"'' AS src, '' AS dst, '' AS type, {null_ts} AS ts, '' AS dataset, '' AS record_id")}) AS direct""")
    engine.materialize("edges_all", EDGES)


def inputs_of(settings: Settings) -> dict[str, list[str]]:
    """The current files of every dataset the job reads (absent datasets are skipped)."""
    out = {}
    for zone, name in [("entities", "person_links"), ("entities", "person_mentions"),
                       *(("clean", n) for p in (*GROUPS.values(), *DIRECT.values()) for n in p.needs)]:  # fmt: skip
        files = current_files(settings, zone, name)
        if files:
            out[name] = files
    return out


def run(settings: Settings, engine: str = "duckdb") -> dict[str, int]:
    """Derive the edges on ``engine`` and publish both outputs to the derived zone."""
    inputs = inputs_of(settings)
    if "person_links" not in inputs or "person_mentions" not in inputs:
        raise ZhijingError("the graph needs the person master: run `zhijing resolve` first")
    lineage = {"job": JOB_NAME, "revision": JOB_REVISION, "engine": engine, "run_at": datetime.now(UTC).isoformat(),
               "inputs": [{"zone": "entities" if n.startswith("person_") else "clean", "dataset": n} for n in sorted(inputs)]}  # fmt: skip
    counts = {}
    with make_engine(engine, settings) as eng:
        build(eng, inputs)
        for out, table in zip(OUTPUTS, ("evidence_all", "edges_all"), strict=True):
            eng.materialize(f"{out}_sorted", f"SELECT * FROM {table} ORDER BY src, dst, type")
            files = eng.write_parquet(f"{out}_sorted", Path(staging_dir(settings, "graph")) / out)
            publish(settings, "derived", out, [str(f) for f in files], lineage, mode="replace")
            counts[out] = eng.rows(f"SELECT count(*) FROM {table}")[0][0]
    return counts
