"""Ingest + standardization throughput vs DuckDB's plain CSV -> Parquet copy of the same file.

    .venv/bin/python bench/bench_ingest.py --rows 1000000 [--rows 10000000]

Synthesizes a lodging-like CSV (the spec's columns; mixed time formats, 2% legacy 15-digit
IDs), then in separate processes (so peak memory is per phase) measures: (a) DuckDB
``COPY (FROM read_csv(...)) TO parquet``; (b) zhijing's landing (encoding detection,
line scan, raw Parquet) + clean job (full standardization, dedup, quarantine, partitioned
Parquet). Prints a markdown block and writes bench/out/ingest.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "out"
MEMORY_LIMIT = "4GB"  # the clean job's DuckDB (the machine is shared); it spills beyond


def synthesize(path: Path, n: int, seed: int = 7) -> None:
    from zhijing.standards import citizen_id

    rng = np.random.default_rng(seed)
    surn, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
    base = datetime(2024, 1, 1)
    ids = [citizen_id.make("330203", date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i % 1000) for i in range(5000)]
    fmts = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S")
    minutes = rng.integers(0, 525_600, n)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("入住单号,旅馆编码,旅馆名称,姓名,证件类型,证件号码,入住时间,退房时间,房号,旅馆地址\n")
        for i in range(n):
            t = base + timedelta(minutes=int(minutes[i]))
            cid = ids[i % 5000]
            if i % 50 == 0:
                cid = cid[:6] + cid[8:17]
            h = i % 500
            fh.write(f"L{i:09d},H{h:04d},明州大酒店{h},{surn[i % 20]}{given[i % 23]},居民身份证,{cid},"
                     f"{t.strftime(fmts[i % 3])},{(t + timedelta(days=1)).strftime(fmts[0])},{i % 900},"
                     f"浙江省宁波市海曙区中山西路{h}号\n")  # fmt: skip


def phase_plain(csv: Path, work: Path) -> dict:
    import duckdb

    t = time.perf_counter()
    duckdb.sql(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{work / 'plain.parquet'}' (FORMAT parquet)")
    return {"seconds": time.perf_counter() - t}


def phase_zhijing(csv: Path, work: Path) -> dict:
    from zhijing.governance.engines.duckdb_engine import DuckDBEngine
    from zhijing.governance.jobs import JobParams, run_clean
    from zhijing.sources.connectors.files import land_csv
    from zhijing.sources.spec import load_spec

    spec = load_spec().dataset("lodging")
    t = time.perf_counter()
    landed = land_csv(csv, csv.name, spec.name, spec.field_names, spec.encoding, 1 << 20, work / "raw.parquet")
    t_land = time.perf_counter() - t
    params = JobParams("bench", int(time.time() * 1e6), date.today())
    engine = DuckDBEngine()
    engine.con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    engine.con.execute(f"SET temp_directory = '{work / 'spill'}'")
    res = run_clean(engine, spec, [str(f) for f in landed.files], [], params, work / "job")
    return {"seconds": time.perf_counter() - t, "land_seconds": t_land, "counts": res.counts}


def run_phase(name: str, csv: Path) -> dict:
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run([sys.executable, __file__, "--phase", name, "--csv", str(csv), "--work", work],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append")
    ap.add_argument("--phase")
    ap.add_argument("--csv")
    ap.add_argument("--work")
    a = ap.parse_args()
    if a.phase:
        before = resource.getrusage(resource.RUSAGE_SELF)
        result = (phase_plain if a.phase == "plain" else phase_zhijing)(Path(a.csv), Path(a.work))
        after = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_mb"] = after.ru_maxrss / 1024
        result["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(json.dumps(result))
        return
    load = __import__("os").getloadavg()[0]
    lines = [f"### Ingest throughput ({platform.machine()}, {__import__('os').cpu_count()} cores, "
             f"{datetime.now():%Y-%m-%d})", "",
             "| rows | file MB | DuckDB plain copy s | zhijing land+standardize s (land) | rows/s | MB/s | peak MB plain / zhijing | vs plain | CPU s plain / zhijing | vs plain, CPU |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for n in a.rows or [1_000_000]:
        with tempfile.TemporaryDirectory() as d:
            csv = Path(d) / "lodging.csv"
            synthesize(csv, n)
            mb = csv.stat().st_size / 1e6
            plain, ours = run_phase("plain", csv), run_phase("zhijing", csv)
        s = ours["seconds"]
        lines.append(f"| {n:,} | {mb:,.0f} | {plain['seconds']:.2f} | {s:.2f} ({ours['land_seconds']:.2f}) | {n / s:,.0f} | "
                     f"{mb / s:,.1f} | {plain['peak_mb']:,.0f} / {ours['peak_mb']:,.0f} | {plain['seconds'] / s:.2f}× | "
                     f"{plain['cpu_seconds']:.1f} / {ours['cpu_seconds']:.1f} | {plain['cpu_seconds'] / ours['cpu_seconds']:.2f}× |")  # fmt: skip
    lines += ["", "zhijing = landing (encoding detection, line scan, raw Parquet with line numbers) + clean job "
              "(citizen-ID check/upgrade, times to UTC, address parse join, dedup, quarantine, month-partitioned "
              "Parquet); the goal is ≥ 0.5× plain-copy speed. CPU s = user + system seconds of the phase's process "
              "(all threads): on a shared machine the steadier measure of work done. Load average at start: "
              f"{load:.1f}."]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "ingest.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
