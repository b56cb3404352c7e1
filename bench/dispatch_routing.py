"""Dispatch recommendation (zhijing/command/recommend.py) with 1,000 units: latency p50 / p99
beside the peer — the straight-line nearest available units by a DuckDB query — and pgRouting
(the production router) where PostgreSQL has it; and quality: the share of calls where the
first unit recommended is the truly fastest by the simulator's drive, beside the share where
the straight-line nearest is.

``python -m bench.dispatch_routing [--home DIR]``: DIR is a home whose lake has the streets
(any ingested city); without it the test city's reference data is generated into a temporary
home (the street graph does not depend on the number of persons). Writes bench/out and its
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.common import machine, write

HEADING = "## Dispatch recommendation on the street graph (`bench/dispatch_routing.py`)"
PEER = """SELECT id, sqrt(power((lon - $lon) * 111320 * cos(radians(($lat + lat) / 2)), 2) + power((lat - $lat) * 110574, 2)) AS m
          FROM units WHERE status = 'available' AND last_seen >= $since ORDER BY m LIMIT $k"""


def _home(args) -> Path:
    if args.home:
        return args.home
    from zhijing.config import Settings
    from zhijing.governance.ingest import ingest_reference
    from zhijing.sources.generate.testing import small_city

    root = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    ingest_reference(Settings(home=root / "home"), small_city(root) / "sources")
    return root / "home"


def _ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, float(np.percentile(samples, 99)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path)
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--quality-calls", type=int, default=200)
    ap.add_argument("--pg", default=os.environ.get("ZHIJING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    from zhijing.command import pgrouting
    from zhijing.command.recommend import eligible as recommend_eligible
    from zhijing.command.recommend import recommend
    from zhijing.command.roads import StreetCache
    from zhijing.command.simulator import RUSH_HOURS, drive
    from zhijing.config import Settings

    load = os.getloadavg()
    settings = Settings(home=_home(args))
    cache = StreetCache()
    t = time.perf_counter()
    g = cache.get(settings)
    build_s = time.perf_counter() - t
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    picks = rng.choice(len(g), args.units, replace=len(g) < args.units)
    status = rng.choice(["available", "en_route", "on_scene"], args.units, p=[0.8, 0.1, 0.1])
    units = [{"id": f"U{i:04d}", "status": str(s), "last_seen": now - timedelta(minutes=float(rng.uniform(0, 15))),
              "lon": float(g.lon[v]), "lat": float(g.lat[v]), "node": g.ids[v]}
             for i, (v, s) in enumerate(zip(picks, status, strict=True))]  # fmt: skip
    legs = list(g.edges)

    def call() -> tuple[float, float]:
        a, b = legs[rng.integers(len(legs))]
        f = rng.uniform(0.1, 0.9)
        return float(g.lon[a] + f * (g.lon[b] - g.lon[a])), float(g.lat[a] + f * (g.lat[b] - g.lat[a]))

    calls = [call() for _ in range(args.calls)]
    ours = []
    for lon, lat in calls:
        t = time.perf_counter()
        recommend(settings, lon, lat, units, k=3, streets=cache, now=now)
        ours.append(time.perf_counter() - t)
    con = duckdb.connect()
    con.register("frame", pd.DataFrame(units))
    con.execute("CREATE TABLE units AS SELECT * FROM frame")
    since = now - timedelta(minutes=settings.dispatch.stale_minutes)
    peer = []
    for lon, lat in calls:
        t = time.perf_counter()
        con.execute(PEER, {"lon": lon, "lat": lat, "since": since, "k": 3}).fetchall()
        peer.append(time.perf_counter() - t)
    pg_row = _pgrouting(settings, args.pg, pgrouting, recommend, units, calls[:100], now)

    hits: dict[str, list[tuple[bool, bool]]] = {"rush": [], "other": []}  # (recommended right, straight-line right)
    agree = 0
    eligible = recommend_eligible(settings, units, now)
    nodes = [g.node(u["node"]) for u in eligible]
    t = time.perf_counter()
    for _ in range(args.quality_calls):
        lon, lat = call()
        rec = recommend(settings, lon, lat, eligible, k=len(eligible), streets=cache, now=now)
        target = g.nearest(lon, lat)[0]
        routes = g.routes_to(target, nodes)
        hour = int(rng.integers(0, 24))
        true = {u["id"]: drive(g, routes[v], hour, rng)[-1] for u, v in zip(eligible, nodes, strict=True) if v in routes}
        fastest = min(true, key=true.get)
        nearest = next(r["unit"] for r in rec if r["straight_rank"] == 1)
        hits["rush" if hour in RUSH_HOURS else "other"].append((rec[0]["unit"] == fastest, nearest == fastest))
        agree += rec[0]["unit"] == nearest
    quality_s = time.perf_counter() - t
    q = args.quality_calls
    (o50, o99), (p50, p99) = _ms(ours), _ms(peer)
    text = "\n".join([
        HEADING, "",
        f"{datetime.now(UTC):%Y-%m-%d}; machine: {machine()}; load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} "
        f"(shared with other jobs: wall times are inflated).", "",
        f"Street graph: {len(g):,} nodes, {g.graph.numberOfEdges():,} directed edges, built in {build_s:.2f} s once per lake "
        f"version. {args.units:,} units on random street nodes ({len(eligible):,} available and fresh); {args.calls} calls on "
        f"random streets, k = 3.", "",
        "| what | p50 ms | p99 ms |", "| --- | ---: | ---: |",
        f"| recommendation by travel time (networkit: nearest node, one Dijkstra over the reverse graph, ranking) | {o50:.2f} | {o99:.2f} |",
        f"| peer: straight-line nearest available units, one DuckDB query | {p50:.2f} | {p99:.2f} |",
        *([pg_row] if pg_row else []), "",
        f"Quality, {q} calls at a random hour each, against the simulator's true drive (congestion by road class and hour, "
        f"a random factor per street driven; {quality_s:.0f} s):", "",
        "| chooser | share of calls where its first unit is the truly fastest | at rush hours (07–09, 17–19) | other hours |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {name} | {_share(hits['rush'] + hits['other'], i)} | {_share(hits['rush'], i)} | {_share(hits['other'], i)} |"
          for i, name in enumerate(["recommended by travel time", "straight-line nearest"])), "",
        f"The two choose the same unit on {agree / q:.1%} of the calls. Goal p99 ≤ 100 ms "
        f"(intake → recommendation; this is the recommendation's part): **{'met' if o99 <= 100 else 'not met'}**.", "",
    ])  # fmt: skip
    write("dispatch_routing", text)
    _into_benchmarks(text)


def _share(rows: list[tuple[bool, bool]], i: int) -> str:
    return f"{sum(r[i] for r in rows) / len(rows):.1%} of {len(rows)}" if rows else "–"


def _pgrouting(settings, url, pgrouting, recommend, units, calls, now) -> str | None:
    import sqlalchemy as sa

    if pgrouting.available(sa.create_engine(url)):
        return None
    cache = pgrouting.PgCache(url, "routing_bench")
    t = time.perf_counter()
    cache.get(settings)
    loaded = time.perf_counter() - t
    times = []
    for lon, lat in calls:
        t = time.perf_counter()
        recommend(settings, lon, lat, units, k=3, streets=cache, now=now)
        times.append(time.perf_counter() - t)
    with cache.engine.begin() as c:
        c.execute(sa.text("DROP SCHEMA routing_bench CASCADE"))
    p50, p99 = _ms(times)
    return (f"| the same on PostgreSQL 15 + PostGIS + pgRouting (`pgr_dijkstraCost` one-to-many from the incident over the edges turned round; streets loaded in {loaded:.1f} s), "
            f"{len(calls)} calls | {p50:.2f} | {p99:.2f} |")  # fmt: skip


def _into_benchmarks(text: str) -> None:
    """Replace this benchmark's section of BENCHMARKS.md (or append it)."""
    path = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(HEADING) + r".*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _: text + "\n", doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
