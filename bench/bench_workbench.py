"""The workbench on a resolved city: presence build and search index build (time, size),
search p50/p95 over a mix of queries, trajectory, companions, collision of 3 windows and
comparison — each beside a plain DuckDB query doing the same lookup or join in the same
run (the naive ``cp = AND ts BETWEEN`` join for companions, DESIGN §9).

    python -m bench.bench_workbench --persons 100000          # generate, ingest, resolve, measure
    python -m bench.bench_workbench --home var                # an already resolved lake
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import duckdb

from bench.common import machine, write
from zhijing.config import Settings
from zhijing.derived.workbench import (
    collision,
    companions,
    compare,
    index_sync,
    presence,
    search,
    trajectory,
    windows,
)
from zhijing.derived.workbench.subjects import Subject
from zhijing.lake.store import current_files
from zhijing.sources.generate.faults import OCR
from zhijing.sources.generate.names import homophone, similar_shape
from zhijing.sources.spec import load_spec


def timed(fn, *args, **kw) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def pct(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000


def prepare(persons: int, root: Path) -> Settings:
    from zhijing.entities.resolve import resolve_all
    from zhijing.governance.ingest import ingest_city
    from zhijing.sources.generate.city import generate_city

    city = root / "city"
    generate_city(city, persons=persons, seed=7, progress=False, force=True)
    s = Settings(home=root / "home")
    ingest_city(s, city / "sources", progress=False)
    resolve_all(s, progress=False)
    return s


def queries(s: Settings, n: int, rng: random.Random) -> list[str]:
    con = duckdb.connect()
    pm = current_files(s, "entities", "persons_master")
    people = con.sql(f"SELECT name, citizen_id, phone FROM read_parquet({pm!r}) USING SAMPLE {n} ROWS").fetchall()
    plates = [r[0] for r in con.sql(f"SELECT plate FROM read_parquet({current_files(s, 'entities', 'vehicles_master')!r}) USING SAMPLE {n} ROWS").fetchall()]
    out = []
    for (name, cid, phone), plate in zip(people, plates, strict=False):
        out += [name or "张伟", homophone(name or "", rng.random()) or name or "李娜", similar_shape(name or "", rng.random()) or "王芳",
                cid or "330203199001011234", phone or "13800000000", plate[:2] + plate[2:].translate(OCR)]  # fmt: skip
    return out + ["被骗转账", "电动车被盗", "入室盗窃", "汉庭酒店", "口角纠纷", "钥匙被锁在车内"]


def peer_lookup(con: duckdb.DuckDBPyConnection, s: Settings, q: str) -> None:
    """The plain DuckDB answer to the same box: exact keys on the masters, or a name/text LIKE."""
    pm = current_files(s, "entities", "persons_master")
    con.execute(f"SELECT master_id FROM read_parquet({pm!r}) WHERE name = $q OR citizen_id = $q OR phone = $q OR name LIKE $q || '%' LIMIT 20",
                {"q": q}).fetchall()  # fmt: skip


def unfiltered(fn, *args, **kwargs):
    """``fn`` with companions' and collision's time pre-filters switched off (what they cost before)."""
    saved = companions._spans, companions._between, companions.max_span, collision.max_span
    companions._spans = lambda times, dt: "true" if times else "false"
    companions._between = lambda bounds, *pads: "true" if bounds[0] is not None else "false"
    companions.max_span = collision.max_span = lambda settings: None
    try:
        return fn(*args, **kwargs)
    finally:
        companions._spans, companions._between, companions.max_span, collision.max_span = saved


def search_rows(s: Settings, con: duckdb.DuckDBPyConnection, n_queries: int, rng: random.Random, built) -> list[tuple]:
    """The index build and search p50 / p95 beside their DuckDB peers."""
    rows_out = []
    if built:
        t_index, info = built[1], {"documents": search.open_index(s).searcher().num_docs}
    else:
        t_index, info = timed(index_sync.update, s, True)
    size = sum(p.stat().st_size for p in search.index_dir(s).rglob("*") if p.is_file()) / 1024**2
    clean_rows = sum(con.execute(f"SELECT count(*) FROM read_parquet({current_files(s, 'clean', d.name)!r}, union_by_name=true)").fetchone()[0]
                     for d in load_spec().datasets if current_files(s, "clean", d.name))  # fmt: skip
    t_scan, _ = timed(lambda: [con.execute(f"SELECT * FROM read_parquet({current_files(s, 'clean', d.name)!r}, union_by_name=true)").to_arrow_table()
                               for d in load_spec().datasets if current_files(s, "clean", d.name)])  # fmt: skip
    rows_out.append(("search index build", f"{info['documents']:,} docs ({clean_rows:,} clean records), {size:.0f} MB", f"{t_index:.1f} s",
                     "DuckDB read of every clean record", f"{t_scan:.1f} s"))  # fmt: skip
    qs = queries(s, max(1, n_queries // 6), rng)
    search.query(s, "张伟")  # warm: jieba's dictionary, the index's files
    ts = [timed(search.query, s, q)[0] for q in qs]
    tp = [timed(peer_lookup, con, s, q)[0] for q in qs]
    (a, b), (c, d) = pct(ts), pct(tp)
    rows_out.append(("search (p50 / p95)", f"{len(qs)} queries: names, variants, IDs, phones, OCR plates, text", f"{a:.1f} / {b:.1f} ms",
                     "DuckDB equality / LIKE on the person masters", f"{c:.1f} / {d:.1f} ms"))  # fmt: skip
    return rows_out


def bench(s: Settings, n_queries: int, n_subjects: int, built: tuple[float, float] | None = None, with_search: bool = True) -> str:
    """``built``: the presence table and the index are already built (by ``zhijing workbench
    build``, timed outside), in these (presence, index) seconds; they are not rebuilt.
    ``with_search`` False leaves the index and search out (hours at 10^6 under load)."""
    rng = random.Random(7)
    con = duckdb.connect()
    rows_out = []
    if built:
        src = presence.source(s)
        t_presence, n_presence = built[0], con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    else:
        t_presence, n_presence = timed(presence.build, s)
        src = presence.source(s)
    t_copy, _ = timed(lambda: con.execute(f"COPY (SELECT * FROM {src}) TO '/dev/null' (FORMAT parquet)"))
    rows_out.append(("presence table build", f"{n_presence:,} rows", f"{t_presence:.1f} s", "DuckDB copy of the same rows", f"{t_copy:.1f} s"))
    if with_search:
        rows_out += search_rows(s, con, n_queries, rng, built)
    subs = [r[0] for r in con.execute(f"SELECT subject FROM {src} WHERE subject_kind = 'person' AND via IS NOT NULL "
                                      f"GROUP BY 1 HAVING count(*) > 5 ORDER BY hash(subject) LIMIT {n_subjects}").fetchall()]  # fmt: skip
    ts = [timed(trajectory.trajectory, s, Subject("person", (m,)))[0] for m in subs]
    tp = [timed(lambda m=m: con.execute(f"SELECT * FROM {src} WHERE subject_kind = 'person' AND subject = $m ORDER BY ts", {"m": m}).fetchall())[0]
          for m in subs]  # fmt: skip
    (a, b), (c, d) = pct(ts), pct(tp)
    rows_out.append(("trajectory (p50 / p95)", f"{len(subs)} persons", f"{a:.1f} / {b:.1f} ms", "DuckDB filter + sort of the same rows", f"{c:.1f} / {d:.1f} ms"))
    ts = [timed(companions.companions, s, Subject("person", (m,)))[0] for m in subs[:10]]
    tu = [timed(unfiltered, companions.companions, s, Subject("person", (m,)))[0] for m in subs[:10]]
    naive = f"""SELECT o.subject, count(*) FROM {src} m JOIN {src} o ON o.place_id = m.place_id AND o.mode = 'pass'
                AND o.ts BETWEEN m.ts - INTERVAL 120 SECOND AND m.ts + INTERVAL 120 SECOND
                WHERE m.subject_kind = 'person' AND m.subject = $m AND m.mode = 'pass' AND o.subject_kind = 'person' AND o.subject <> $m GROUP BY 1"""  # fmt: skip
    tp = [timed(lambda m=m: con.execute(naive, {"m": m}).fetchall())[0] for m in subs[:10]]
    (a, b), (c, d) = pct(ts), pct(tp)
    rows_out.append(("companions (p50 / p95)", "10 persons, Δt 120 s, trips + stays + checkpoints", f"{a:.0f} / {b:.0f} ms",
                     "naive `cp = AND ts BETWEEN` join, checkpoints only", f"{c:.0f} / {d:.0f} ms"))  # fmt: skip
    (a, b) = pct(tu)
    rows_out.append(("companions without time pre-filters", "the same 10 persons and answers", f"{a:.0f} / {b:.0f} ms", "—", "—"))
    reads = con.execute(f"SELECT place_id, ts, lon, lat FROM {src} WHERE subject_kind = 'plate' AND lon IS NOT NULL ORDER BY hash(record_id) LIMIT 3").fetchall()
    specs = [{"kind": k, "value": v, "start": (t - timedelta(hours=2)).isoformat(), "end": (t + timedelta(hours=2)).isoformat()}
             for k, (cp, t, lon, lat) in zip(("checkpoint", "circle", "polygon"), reads, strict=True)
             for v in [{"checkpoint": cp, "circle": {"lon": lon, "lat": lat, "radius_m": 500},
                        "polygon": [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01], [lon - 0.01, lat + 0.01]]}[k]]]  # fmt: skip
    wins = windows.parse(s, specs)
    ts = [timed(collision.collide, s, wins, 1)[0] for _ in range(5)]
    tu = [timed(unfiltered, collision.collide, s, wins, 1)[0] for _ in range(5)]
    tp = [timed(lambda: con.execute(collision.plain_sql(src, wins, 1)).fetchall())[0] for _ in range(5)]
    (a, b), (c, d) = pct(ts), pct(tp)
    rows_out.append(("collision of 3 windows (p50 / p95)", "checkpoint, 500 m circle, polygon; ±2 h; k = 1", f"{a:.0f} / {b:.0f} ms",
                     "one DuckDB query (bounding boxes, no exact shapes, no evidence)", f"{c:.0f} / {d:.0f} ms"))  # fmt: skip
    (a, b) = pct(tu)
    rows_out.append(("collision without the lower time bound", "the same windows and answers", f"{a:.0f} / {b:.0f} ms", "—", "—"))
    pairs = list(zip(subs[:10], subs[10:20], strict=False)) or [(subs[0], subs[0])]
    ts = [timed(compare.compare, s, Subject("person", (x,)), Subject("person", (y,)))[0] for x, y in pairs]
    (a, b) = pct(ts)
    rows_out.append(("comparison (p50 / p95)", f"{len(pairs)} pairs, Δt 1 h, 300 m", f"{a:.0f} / {b:.0f} ms", "two trajectories (above)", "—"))
    persons = con.execute(f"SELECT count(*) FROM read_parquet({current_files(s, 'entities', 'persons_master')!r})").fetchone()[0]
    head = (f"## Workbench (`zhijing.derived.workbench`)\n\nMachine: {machine()}. City: {persons:,} master persons, "
            f"{n_presence:,} presence rows. Wall times on a shared machine: load average {os.getloadavg()[0]:.1f} at the end of the run.\n\n"
            "| what | size | zhijing | peer | peer time |\n| --- | --- | ---: | --- | ---: |\n")  # fmt: skip
    return head + "\n".join(f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows_out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, help="an ingested and resolved home (default: generate one)")
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=120)
    ap.add_argument("--subjects", type=int, default=30)
    ap.add_argument("--built", type=float, nargs=2, metavar=("PRESENCE_S", "INDEX_S"),
                    help="reuse the presence table and index `zhijing workbench build` made, in these seconds")  # fmt: skip
    ap.add_argument("--no-search", action="store_true", help="leave the index build and search out")
    a = ap.parse_args()
    if a.home:
        s = Settings(home=a.home)
    else:
        s = prepare(a.persons, Path(tempfile.mkdtemp(prefix="bench-workbench-")))
    write("workbench", bench(s, a.queries, a.subjects, tuple(a.built) if a.built else None, not a.no_search))


if __name__ == "__main__":
    main()
