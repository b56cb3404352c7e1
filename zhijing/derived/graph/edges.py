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

The edges come from the model's graph rules (``zhijing/model/types.yaml``), whatever
datasets are mapped to each type: directed edges between two roles (a call, a payment, an
ownership, a membership, a driver in an accident) and co-occurrence edges from groups — a
household number or a registered dwelling, a hotel and check-in hour, a service on one day
and its carriage, a case. A group larger than ``MAX_GROUP`` is a crowd, not a
relation, and gives no pairs (a full flight would otherwise give 45,000): the job's size
stays linear in the records.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from zhijing.config import Settings
from zhijing.errors import ZhijingError
from zhijing.governance.engines import make_engine
from zhijing.governance.engines.base import Engine
from zhijing.lake.store import current_files, publish
from zhijing.lake.zones import staging_dir
from zhijing.model import build as model_build
from zhijing.model import read
from zhijing.model import types as model_types
from zhijing.model.build import q
from zhijing.model.types import EventType, GraphRule, Model

JOB_NAME = "derived.graph_edges"
JOB_REVISION = 1
MAX_GROUP = 40
OUTPUTS = ("graph_evidence", "graph_edges")
DIRECTED = ("call", "transfer", "holds", "owns", "drives", "uses", "company_role")
# edge types in a stable order (the network file stores their index): the packaged model's, then "uses"
_KNOWN = ("household", "co_lodging", "co_travel", "co_case", "call", "transfer", "holds", "owns", "drives", "uses", "company_role")
TYPES = (*_KNOWN, *dict.fromkeys(r.edge for e in model_types.packaged().events.values() for r in e.graph if r.edge not in _KNOWN))

# what the console calls them (中文, English); a deployment's own edge type shows its code
LABELS = {"household": ("同户", "same household"), "co_lodging": ("同住", "lodged together"), "co_travel": ("同行", "travelled together"),
          "co_case": ("同案", "same case"), "call": ("通话", "call"), "transfer": ("转账", "transfer"), "holds": ("持有账户", "holds account"),
          "owns": ("车主", "owns vehicle"), "drives": ("驾驶", "drove"), "uses": ("使用手机", "uses phone"),
          "company_role": ("任职", "company role"), "co_netbar": ("同上网", "same internet café")}  # fmt: skip


PREFIX = {"person": "P:", "account": "A:", "phone": "T:", "vehicle": "V:", "company": "C:", "case": "K:", "incident": "I:"}


def _node(kind: str, role: str) -> str:
    """A node id of a role's value: a person mention through its master (the role's own join
    to the links, ``_from``), else kind prefix + identifier."""
    return f"'P:' || {q('pl_' + role)}.master_id" if kind == "person" else f"'{PREFIX.get(kind, kind + ':')}' || t.{q(role)}"


def _from(table: str, kinds: dict[str, str], roles: list[str], where: str | None) -> str:
    """The type's rows joined to the masters of its person roles among ``roles``."""
    joins = " ".join(f"JOIN pl {q('pl_' + r)} ON {q('pl_' + r)}.mention_id = t.{q(r)}" for r in roles if kinds[r] == "person")
    cond = " AND ".join([f"t.{q(r)} IS NOT NULL" for r in roles] + ([f"({where})"] if where else []))
    return f"FROM {table} t {joins} WHERE {cond}"


def _group_key(col: str) -> str:
    if col == "hour":
        return "CAST(date_trunc('hour', t.ts) AS VARCHAR)"
    if col == "day":
        return "CAST(CAST(t.ts AS DATE) AS VARCHAR)"
    return f"CAST(t.{q(col)} AS VARCHAR)"


def rule_sql(type_name: str, ev: EventType, rule: GraphRule) -> tuple[str, str]:
    """(kind, SQL) of one graph rule: ``members`` rows (type, dataset, grp, m, rid, ts) for a
    group rule, ``direct`` rows (src, dst, type, ts, dataset, record_id) for a from/to rule."""
    table, kinds = f"m_{type_name}", ev.roles
    where = rule.where  # SQL over the type's columns, as ``t.<column>``
    if rule.members:
        key = " || '|' || ".join(f"coalesce({_group_key(c)}, '')" for c in rule.group)
        node = _node(kinds[rule.members], rule.members)
        return "members", (f"SELECT '{rule.edge}' AS type, t.dataset AS dataset, '{type_name}|' || {key} AS grp, {node} AS m, "
                           f"t.record_id AS rid, CAST(t.ts AS TIMESTAMP) AS ts {_from(table, kinds, [rule.members], where)}")  # fmt: skip
    src, dst = _node(kinds[rule.from_], rule.from_), _node(kinds[rule.to], rule.to)
    return "direct", (f"SELECT {src} AS src, {dst} AS dst, '{rule.edge}' AS type, CAST(t.ts AS TIMESTAMP) AS ts, t.dataset AS dataset, "
                      f"t.record_id AS record_id {_from(table, kinds, [rule.from_, rule.to], where)} AND t.{q(rule.from_)} <> t.{q(rule.to)}")  # fmt: skip


def rules(model: Model) -> list[tuple[str, str, str]]:
    """(model type, kind, SQL) of every graph rule of the model."""
    return [(name, *rule_sql(name, ev, rule)) for name, ev in model.events.items() for rule in ev.graph]


# a phone a person gave in any record is a phone they use, unless the record is itself the
# phone's ownership (that is a ``holds`` edge)
USES = """
    SELECT 'P:' || master_id AS src, 'T:' || phone AS dst, 'uses' AS type, seen_at AS ts, dataset, record_id
    FROM pl WHERE phone IS NOT NULL AND mention_id NOT IN (SELECT owner FROM owned_phones)"""


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


def build(engine: Engine, inputs: dict[str, list[str]], model: Model | None = None) -> None:
    """Create ``evidence_all`` and ``edges_all`` in ``engine`` from the model tables and the
    person links named in ``inputs`` (``person_links``, ``person_mentions``, ``m_<type>`` -> files)."""
    model = model or model_types.packaged()
    for name, files in inputs.items():
        engine.register_parquet(f"in_{name}" if name in ("person_links", "person_mentions") else name, files)
    engine.materialize("pl", """
        SELECT m.mention_id, m.dataset, m.record_id, m.role, l.master_id, m.phone, CAST(m.seen_at AS TIMESTAMP) AS seen_at
        FROM in_person_links l JOIN in_person_mentions m ON m.mention_id = l.mention_id""")
    have = [r for r in rules(model) if f"m_{r[0]}" in inputs]
    groups = [sql for _, kind, sql in have if kind == "members"]
    direct = [sql for _, kind, sql in have if kind == "direct"]
    owned = [f"SELECT {q(r)} AS owner FROM m_ownership WHERE phone IS NOT NULL AND {q(r)} IS NOT NULL"
             for r in model.events["ownership"].person_roles()] if "m_ownership" in inputs and "ownership" in model.events else []  # fmt: skip
    engine.materialize("owned_phones", " UNION ALL ".join(owned) or "SELECT '' AS owner WHERE false")
    direct.append(USES)
    null_ts = "CAST(NULL AS TIMESTAMP)"
    engine.materialize("members", _union(groups, f"'' AS type, '' AS dataset, '' AS grp, '' AS m, '' AS rid, {null_ts} AS ts"))
    engine.materialize("evidence_all", f"""
        SELECT src, dst, type, ts, dataset, record_id FROM ({PAIRS}) AS pairs
        UNION ALL
        SELECT * FROM ({_union(direct, f"'' AS src, '' AS dst, '' AS type, {null_ts} AS ts, '' AS dataset, '' AS record_id")}) AS direct""")
    engine.materialize("edges_all", EDGES)


def inputs_of(settings: Settings) -> dict[str, list[str]]:
    """The current files of the person links and of every model type with graph rules (absent ones are skipped)."""
    model = model_types.load(settings)
    out = {}
    for zone, name in [("entities", "person_links"), ("entities", "person_mentions")]:
        if files := current_files(settings, zone, name):
            out[name] = files
    for name, ev in model.events.items():
        if (ev.graph or name == "ownership") and (files := read.files(settings, name)):
            out[f"m_{name}"] = files
    return out


def run(settings: Settings, engine: str = "duckdb") -> dict[str, int]:
    """Derive the edges on ``engine`` and publish both outputs to the derived zone."""
    model_build.build(settings)  # incremental: the model follows the clean zone
    inputs = inputs_of(settings)
    if "person_links" not in inputs or "person_mentions" not in inputs:
        raise ZhijingError("the graph needs the person master: run `zhijing resolve` first")
    lineage = {"job": JOB_NAME, "revision": JOB_REVISION, "engine": engine, "run_at": datetime.now(UTC).isoformat(),
               "inputs": [{"zone": "entities", "dataset": n} if n.startswith("person_") else {"zone": "model", "dataset": n[2:]}
                          for n in sorted(inputs)]}  # fmt: skip
    counts = {}
    with make_engine(engine, settings) as eng:
        build(eng, inputs, model_types.load(settings))
        for out, table in zip(OUTPUTS, ("evidence_all", "edges_all"), strict=True):
            eng.materialize(f"{out}_sorted", f"SELECT * FROM {table} ORDER BY src, dst, type")
            files = eng.write_parquet(f"{out}_sorted", Path(staging_dir(settings, "graph")) / out)
            publish(settings, "derived", out, [str(f) for f in files], lineage, mode="replace")
            counts[out] = eng.rows(f"SELECT count(*) FROM {table}")[0][0]
    return counts
