"""The model zone (DESIGN §10) on a resolved city: a full build of every model table beside a
plain DuckDB copy of the same clean columns to Parquet (the peer), an up-to-date rebuild (no
dataset changed), a rebuild after one dataset's new version, and the presence build from the
model beside a DuckDB copy of the same rows.

    python -m bench.bench_model --persons 100000       # generate, ingest, resolve, measure
    python -m bench.bench_model --home var             # an already resolved lake
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from bench.bench_workbench import prepare, timed
from bench.common import machine, write
from zhijing.config import Settings
from zhijing.derived.workbench import presence
from zhijing.lake.store import current_files, publish
from zhijing.lake.zones import dataset_dir
from zhijing.model import build, read, types
from zhijing.sources.spec import load_spec


def peer_copy(s: Settings, out: Path) -> tuple[float, int]:
    """A plain DuckDB copy of the columns every mapping reads, dataset by dataset, to Parquet."""
    con, rows, t = duckdb.connect(), 0, time.perf_counter()
    for d in load_spec(s).datasets:
        files = current_files(s, "clean", d.name)
        for i, m in enumerate(d.model):
            refs = {v for v in [m.key, m.time, m.end, m.duration, *m.roles.values(), *m.properties.values()] if v and not v.startswith("=")}
            if m.place:
                refs |= {v for v in (m.place.code, m.place.name, m.place.lon, m.place.lat, m.place.service, m.place.at) if v}
            if not files:
                continue
            have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({files!r}, union_by_name=true)").fetchall()}
            cols = ", ".join(build.q(c) for c in sorted(refs & have)) or "_record_id"
            if files:
                con.execute(f"COPY (SELECT _record_id, {cols} FROM read_parquet({files!r}, union_by_name=true)) "
                            f"TO '{out / f'{d.name}-{i}.parquet'}' (FORMAT parquet)")  # fmt: skip
                rows += con.execute(f"SELECT count(*) FROM read_parquet('{out / f'{d.name}-{i}.parquet'}')").fetchall()[0][0]
    return time.perf_counter() - t, rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--home", type=Path)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="zj-bench-model-"))
    s = Settings(home=args.home) if args.home else prepare(args.persons, root)
    model = types.load(s)
    for name in [*model.events, *model.entities]:  # a full build: no model zone yet
        shutil.rmtree(dataset_dir(s, "model", name), ignore_errors=True)
    t_full, report = timed(build.build, s)
    rows = sum(report.rows.values())
    peer_dir = root / "peer"
    peer_dir.mkdir(exist_ok=True)
    t_peer, peer_rows = peer_copy(s, peer_dir)
    t_noop, _ = timed(build.build, s)
    files = current_files(s, "clean", "lodging")
    publish(s, "clean", "lodging", list(files), {"job": "bench"}, mode="replace")
    t_one, one = timed(build.build, s)
    t_presence, n_presence = timed(presence.build, s)
    src = presence.source(s)
    t_copy, _ = timed(lambda: duckdb.sql(f"COPY (SELECT * FROM {src} ORDER BY subject_kind, subject, ts) TO '{root / 'p.parquet'}' (FORMAT parquet)"))
    stays = duckdb.sql(f"SELECT count(*) FROM {read.source(s, 'stay')}").fetchall()[0][0]
    load = os.getloadavg()[0]
    text = f"""### Model zone, {args.persons if not args.home else 'given home'} persons ({time.strftime('%Y-%m-%d')}, load average {load:.1f})

{machine()}. {rows:,} model rows in {len(report.rows)} tables ({stays:,} stays) from {len(report.rebuilt)} (type, dataset) mappings.

| what | size | zhijing | peer | peer time | ratio (rows/s, zhijing ÷ peer) |
| --- | --- | ---: | --- | ---: | ---: |
| model build, full | {rows:,} rows | {t_full:.1f} s ({rows / t_full:,.0f} rows/s) | DuckDB copy of the mapped columns ({peer_rows:,} rows) | {t_peer:.1f} s ({peer_rows / t_peer:,.0f} rows/s) | {(rows / t_full) / (peer_rows / t_peer):.2f}× |
| model build, nothing changed | — | {t_noop:.2f} s | — | — | — |
| model build, one dataset's new version | {', '.join(one.rebuilt)} | {t_one:.2f} s | — | — | — |
| presence build from the model | {n_presence:,} rows | {t_presence:.1f} s | DuckDB copy of the same rows, sorted | {t_copy:.1f} s | — |
"""
    write("model", text)


if __name__ == "__main__":
    main()
