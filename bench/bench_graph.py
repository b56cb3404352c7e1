"""The relationship graph: the edge job on DuckDB and on Spark (the same job, each in a
child process of its own), and k-hop expansion / shortest paths beside a plain DuckDB
query of the same joins over the same edges.

``--home DIR`` names a platform home with a resolved city (``zhijing ingest`` and
``zhijing resolve`` done), e.g. the one ``bench_resolve`` leaves.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import duckdb

from bench.common import machine, run_child, write

JOB = """
import json, resource, sys, time
from pathlib import Path
from zhijing.config import Settings
from zhijing.derived.graph import edges
t = time.perf_counter()
counts = edges.run(Settings(home=Path(sys.argv[1])), engine=sys.argv[2])
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu_s": u.ru_utime + u.ru_stime, "counts": counts}))
"""

PEER_3HOP = """
WITH h1 AS (SELECT CASE WHEN src = $s THEN dst ELSE src END AS n FROM e WHERE src = $s OR dst = $s),
h2 AS (SELECT DISTINCT CASE WHEN e.src = h1.n THEN e.dst ELSE e.src END AS n FROM e JOIN h1 ON e.src = h1.n OR e.dst = h1.n),
h3 AS (SELECT DISTINCT CASE WHEN e.src = h2.n THEN e.dst ELSE e.src END AS n FROM e JOIN h2 ON e.src = h2.n OR e.dst = h2.n)
SELECT count(*) FROM (SELECT n FROM h1 UNION SELECT n FROM h2 UNION SELECT n FROM h3)"""


def _ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=20)
    return f"{statistics.median(samples) * 1000:.2f} / {q[18] * 1000:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()
    from zhijing.config import Settings
    from zhijing.derived.graph import service
    from zhijing.lake.store import current_files

    rows = []
    for engine in ("duckdb", *(() if args.no_spark else ("spark",))):
        r = run_child(JOB.replace("sys.argv[1]", repr(str(args.home))).replace("sys.argv[2]", repr(engine)))
        rows.append(f"| edge job, {engine} | {r['seconds']:.1f} s | {r['cpu_s']:.1f} s | {r['counts']['graph_edges']:,} edges, "
                    f"{r['counts']['graph_evidence']:,} evidence rows |")  # fmt: skip
    settings = Settings(home=args.home)
    t = time.perf_counter()
    g = service.graph(settings)
    load = time.perf_counter() - t
    rnd = random.Random(1)
    persons = [i for i in range(len(g)) if str(g.ids[i]).startswith("P:")]
    seeds = rnd.sample(persons, min(args.seeds, len(persons)))
    ours, peer, paths, sizes = [], [], [], []
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT src, dst FROM read_parquet({current_files(settings, 'derived', 'graph_edges')!r})")
    for s in seeds:
        t = time.perf_counter()
        sub = g.expand([s], hops=3, limit=50)
        ours.append(time.perf_counter() - t)
        sizes.append(len(sub.nodes))
        t = time.perf_counter()
        con.execute(PEER_3HOP, {"s": str(g.ids[s])}).fetchall()
        peer.append(time.perf_counter() - t)
        t = time.perf_counter()
        g.path(s, rnd.choice(persons))
        paths.append(time.perf_counter() - t)
    text = "\n".join([
        "## Relationship graph (关系研判)", "", f"Machine: {machine()}.", "",
        "| what | wall | CPU | size |", "| --- | ---: | ---: | --- |", *rows,
        f"| load the graph for serving | {load:.2f} s | | {len(g):,} nodes |", "",
        f"3-hop neighbourhood of {len(seeds)} random persons (p50 / p95 ms; ours: ≤ 50 edges per node and hop, "
        f"median {statistics.median(sizes):.0f} nodes):", "",
        "| ours (numpy adjacency) | peer: DuckDB 3 self-joins, unbounded | shortest path to a random person (networkit) |",
        "| ---: | ---: | ---: |", f"| {_ms(ours)} | {_ms(peer)} | {_ms(paths)} |", "",
    ])  # fmt: skip
    write("graph", text)


if __name__ == "__main__":
    main()
