"""What the graph routes serve: the current edges loaded once per published version,
subjects named the way officers name them, and answers with labels and evidence.

A subject is a node id (``P:<master>``, ``A:<account>``, ``T:<phone>``, ``V:<plate>``,
``C:<USCC>``) or a bare master person id. Evidence for each edge of an answer is read from
``graph_evidence`` (at most ``EVIDENCE_PER_EDGE`` records per edge, newest first).
"""

from __future__ import annotations

import threading
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from zhijing.config import Settings
from zhijing.derived.graph.edges import TYPES
from zhijing.derived.graph.network import Graph, Subgraph
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files, current_manifest
from zhijing.localtime import shown, zone

EVIDENCE_PER_EDGE = 5
KINDS = {"P": "person", "A": "account", "T": "phone", "V": "vehicle", "C": "company"}
_LOCK = threading.Lock()
_CACHE: dict[str, tuple[str, Graph]] = {}


def graph(settings: Settings) -> Graph:
    """The graph of the current ``graph_edges`` version (rebuilt when a new one is published)."""
    manifest = current_manifest(settings, "derived", "graph_edges")
    if manifest is None:
        raise ZhijingError("no relationship graph yet: run `zhijing graph build`")
    key = str(settings.lake_dir)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit and hit[0] == manifest.version:
            return hit[1]
        files = current_files(settings, "derived", "graph_edges")
        g = _load(files)
        _CACHE[key] = (manifest.version, g)
        return g


def _load(files: list[str]) -> Graph:
    """Nodes numbered and times made epoch seconds in DuckDB: Python sees integer arrays and
    one string per node, never one per edge."""
    con = duckdb.connect()
    con.execute(f"CREATE TEMP VIEW e AS SELECT * FROM read_parquet({files!r})")
    con.execute("CREATE TEMP TABLE n AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS pos FROM (SELECT src AS id FROM e UNION SELECT dst FROM e)")
    ids = np.asarray(con.execute("SELECT id FROM n ORDER BY pos").fetchnumpy()["id"], dtype=object)
    types = ", ".join(f"'{t}'" for t in TYPES)
    cols = con.execute(f"""
        SELECT s.pos AS src, d.pos AS dst, list_position([{types}], e.type) - 1 AS type,
               coalesce(epoch(e.first_seen)::BIGINT, -1) AS first, coalesce(epoch(e.last_seen)::BIGINT, -1) AS last, e.weight
        FROM e JOIN n s ON s.id = e.src JOIN n d ON d.id = e.dst""").fetchnumpy()
    return Graph(ids, *(np.asarray(cols[c]) for c in ("src", "dst", "type", "first", "last", "weight")))


def type_counts(g: Graph) -> dict[str, int]:
    """Edges of each type in the graph."""
    found = g.count_types(np.arange(len(g.type)))
    return {t: found.get(t, 0) for t in TYPES}


def node_of(g: Graph, subject: str) -> int:
    """Position of a subject in the graph, or a one-line error."""
    subject = subject.strip()
    candidates = [subject] if ":" in subject else [f"P:{subject}", *(f"{k}:{subject}" for k in "ATVC")]
    for c in candidates:
        pos = g.position(c)
        if pos is not None:
            return pos
    raise ZhijingError("subject not in the relationship graph")


def epoch(value: str | None) -> int | None:
    """An ISO date or time (local time when no zone is given) as UTC epoch seconds."""
    if not value:
        return None
    try:
        t = pd.Timestamp(datetime.fromisoformat(value))
    except ValueError:
        raise ZhijingError(f"not a date or time: {value[:30]!r}") from None
    if t.tzinfo is None:
        t = t.tz_localize(zone())
    return int(t.timestamp())


def evidence(settings: Settings, g: Graph, edges: list[int]) -> dict[int, list[dict]]:
    """Up to ``EVIDENCE_PER_EDGE`` records for each edge position."""
    files = current_files(settings, "derived", "graph_evidence")
    if not edges or not files:
        return {}
    keys = pd.DataFrame({"pos": edges, "src": g.ids[g.src[edges]], "dst": g.ids[g.dst[edges]],
                         "type": [g.type_name(e) for e in edges]})  # fmt: skip
    con = duckdb.connect()
    con.register("wanted", keys)
    rows = con.execute(f"""
        SELECT pos, dataset, record_id, ts FROM (
          SELECT w.pos, e.dataset, e.record_id, e.ts,
                 row_number() OVER (PARTITION BY w.pos ORDER BY e.ts DESC NULLS LAST, e.record_id) AS k
          FROM read_parquet({files!r}) e JOIN wanted w ON e.src = w.src AND e.dst = w.dst AND e.type = w.type)
        WHERE k <= {EVIDENCE_PER_EDGE} ORDER BY pos, k""").fetchall()
    out: dict[int, list[dict]] = {}
    for pos, dataset, record_id, ts in rows:
        out.setdefault(int(pos), []).append({"dataset": dataset, "record_id": record_id, "time": shown(ts)})
    return out


def labels(settings: Settings, ids: list[str]) -> dict[str, dict]:
    """Name and district of the persons, name of the companies among ``ids``."""
    out: dict[str, dict] = {}
    con = duckdb.connect()
    persons = [i[2:] for i in ids if i.startswith("P:")]
    files = current_files(settings, "entities", "persons_master")
    if persons and files:
        q = f"SELECT master_id, name, district FROM read_parquet({files!r}) WHERE list_contains($ids, master_id)"
        for mid, name, district in con.execute(q, {"ids": persons}).fetchall():
            out[f"P:{mid}"] = {"label": name, "district": district}
    companies = [i[2:] for i in ids if i.startswith("C:")]
    files = current_files(settings, "entities", "companies_master")
    if companies and files:
        q = f"SELECT uscc, name FROM read_parquet({files!r}) WHERE list_contains($ids, uscc)"
        for code, name in con.execute(q, {"ids": companies}).fetchall():
            out[f"C:{code}"] = {"label": name}
    return out


def describe(settings: Settings, g: Graph, sub: Subgraph, extra: dict[int, dict] | None = None) -> dict:
    """Nodes and edges of an answer, unmasked (the route masks and filters them)."""
    ids = [str(g.ids[n]) for n in sub.nodes]
    named = labels(settings, ids)
    ev = evidence(settings, g, sub.edges)
    nodes = [{"id": i, "kind": KINDS[i[0]], "key": i[2:], "hop": sub.hop.get(n), "degree": g.degree(n),
              **({"cut": True, "edges_total": sub.cut[n], "edges_by_type": sub.cut_types.get(n, {})} if n in sub.cut else {}), **named.get(i, {}), **(extra or {}).get(n, {})}
             for i, n in zip(ids, sub.nodes, strict=True)]  # fmt: skip
    edges = [{"id": g.edge_id(e), "source": str(g.ids[g.src[e]]), "target": str(g.ids[g.dst[e]]), "type": g.type_name(e),
              "weight": int(g.weight[e]), "first_seen": g.when(g.first[e]), "last_seen": g.when(g.last[e]),
              "evidence": ev.get(e, [])} for e in sub.edges]  # fmt: skip
    return {"nodes": nodes, "edges": edges}
