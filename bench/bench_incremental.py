"""A new file reaching every analysis: ``sources add`` → ``ingest`` → ``resolve
--incremental`` on a resolved demo home, each command timed as a user runs it (a fresh
process), with a full ``resolve`` of the same lake beside it as the peer.

The new file is an internet-café login register (上网记录编号, 证件号码, 姓名, 场所编码, 场所名称,
经纬度, 上机时间, 下机时间) of people the city already has, some IDs mistyped — a kind of file the
generated city does not have. Every run starts from a copy of the base home, so the base
stays as it was.

    python -m bench.bench_incremental --home /tmp/s19home          # a resolved home (zhijing demo)
    python -m bench.bench_incremental --home /tmp/s19home --rows 3020
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from bench.common import machine, write
from zhijing.config import Settings
from zhijing.lake.store import current_files

HEADER = ["上网记录编号", "证件号码", "姓名", "场所编码", "场所名称", "经纬度", "上机时间", "下机时间"]


def cafe_file(settings: Settings, path: Path, rows: int, seed: int = 19) -> Path:
    """``rows`` sessions of persons of the hukou register at ten cafés; one ID in 40 mistyped."""
    rng = random.Random(seed)
    hukou = current_files(settings, "clean", "hukou_person")
    people = duckdb.sql(f"SELECT DISTINCT GMSFHM, XM FROM read_parquet({hukou!r}) WHERE GMSFHM IS NOT NULL AND XM IS NOT NULL "
                        "ORDER BY GMSFHM").fetchall()  # fmt: skip
    people = rng.sample(people, min(rows, len(people)))
    cafes = [(f"WB3302{i:04d}", f"{name}网吧", f"{121.50 + i * 0.01:.5f},{29.85 + i * 0.005:.5f}")
             for i, name in enumerate(("极速", "星际", "网鱼", "天空", "蓝海", "飞翔", "龙腾", "e族", "梦幻", "零点"))]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(rows):
            cid, name = people[i % len(people)]
            if rng.random() < 1 / 40:  # a clerk's typo: two digits swapped
                j = rng.randrange(6, 16)
                cid = cid[:j] + cid[j + 1] + cid[j] + cid[j + 2 :]
            code, cafe, lonlat = rng.choice(cafes)
            start = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d} {rng.randint(8, 23):02d}:{rng.randint(0, 59):02d}:00"
            end = start[:11] + f"{min(23, int(start[11:13]) + rng.randint(1, 4)):02d}" + start[13:]
            out.writerow([f"SW{i:08d}", cid, name, code, cafe, lonlat, start, end])
    return path


def zhijing(home: Path, *args: str) -> float:
    """Run one ``zhijing`` command as a user does (a fresh process); its wall seconds."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zhijing", *args], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "ZHIJING_HOME": str(home)})  # fmt: skip
    return time.perf_counter() - t


def documents(home: Path) -> int:
    import tantivy

    from zhijing.derived.workbench.search import index_dir

    index = tantivy.Index.open(str(index_dir(Settings(home=home))))
    index.reload()
    return index.searcher().num_docs


def run(base: Path, work: Path, rows: int) -> dict:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(base, work, symlinks=True)
    f = cafe_file(Settings(home=work), work.parent / "internet_cafe.csv", rows)
    out = {"rows": rows, "add_s": zhijing(work, "sources", "add", str(f), "--name", "internet_cafe", "--yes")}
    out["ingest_s"] = zhijing(work, "ingest", "--dataset", "internet_cafe", "--no-progress")
    out["incremental_s"] = zhijing(work, "resolve", "--incremental")
    out["documents"] = documents(work)
    out["full_s"] = zhijing(work, "resolve")  # the peer: the whole lake again, the same new file in it
    shutil.rmtree(work)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="a resolved home (zhijing demo, or generate + ingest + resolve)")
    ap.add_argument("--rows", type=int, default=3020)
    ap.add_argument("--label", default="after")
    a = ap.parse_args()
    load = os.getloadavg()
    r = run(a.home, Path(f"{a.home}-bench"), a.rows)
    path = r["add_s"] + r["ingest_s"] + r["incremental_s"]
    write(f"incremental_{a.label}", f"""
| {a.label} | new rows | sources add | ingest | resolve --incremental | add → searchable | full resolve (peer) | documents |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| {a.label} | {r['rows']:,} | {r['add_s']:.1f} s | {r['ingest_s']:.1f} s | {r['incremental_s']:.1f} s | {path:.1f} s | {r['full_s']:.1f} s | {r['documents']:,} |

Machine: {machine()}; load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.
""")  # fmt: skip


if __name__ == "__main__":
    main()
