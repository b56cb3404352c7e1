"""A new file reaching every analysis: ``sources add`` → ``ingest`` → ``resolve
--incremental`` on a resolved demo home, each command timed as a user runs it (a fresh
process), with a full ``resolve`` of the same lake beside it as the peer.

The new file is the issue's internet-café login register (``zhijing generate-netbar``: 证件号码,
姓名, 场所编码, 场所名称, 经纬度, 上机时间, 下机时间 of the city's persons, some IDs mistyped) — a
kind of file the generated city does not have. Every run starts from a copy of the base
home, so the base stays as it was.

    python -m bench.bench_incremental --home /tmp/s19home          # a resolved home (zhijing demo)
    python -m bench.bench_incremental --home /tmp/s19home --rows 3020
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import machine, write
from zhijing.config import Settings
from zhijing.sources.generate.netbar import generate_netbar


def zhijing(home: Path, *args: str) -> tuple[float, float]:
    """Run one ``zhijing`` command as a user does (a fresh process): its wall seconds and
    CPU seconds (user + system, all threads: the steadier figure on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zhijing", *args], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "ZHIJING_HOME": str(home)})  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - t, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


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
    folder = work.parent / f"{work.name}-netbar"
    truth = generate_netbar(Settings(home=work).city_dir, folder, rows=rows)
    f = folder / truth["file"]
    out = {"rows": truth["rows"], "add": zhijing(work, "sources", "add", str(f), "--name", "internet_cafe", "--yes")}
    out["ingest"] = zhijing(work, "ingest", "--dataset", "internet_cafe", "--no-progress")
    out["incremental"] = zhijing(work, "resolve", "--incremental")
    out["documents"] = documents(work)
    out["full"] = zhijing(work, "resolve")  # the peer: the whole lake again, the same new file in it
    shutil.rmtree(work)
    shutil.rmtree(folder)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="a resolved home (zhijing demo, or generate + ingest + resolve)")
    ap.add_argument("--rows", type=int, default=3020)
    ap.add_argument("--label", default="after")
    a = ap.parse_args()
    load = os.getloadavg()
    r = run(a.home, Path(f"{a.home}-bench"), a.rows)
    path = [sum(r[k][i] for k in ("add", "ingest", "incremental")) for i in (0, 1)]
    cell = lambda k: f"{r[k][0]:.1f} s / {r[k][1]:.1f} s"  # noqa: E731
    write(f"incremental_{a.label}", f"""
| {a.label} (wall / CPU) | new rows | sources add | ingest | resolve --incremental | add → searchable | full resolve (peer) | documents |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| {a.label} | {r['rows']:,} | {cell('add')} | {cell('ingest')} | {cell('incremental')} | {path[0]:.1f} s / {path[1]:.1f} s | {cell('full')} | {r['documents']:,} |

Machine: {machine()}; load average at start {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.
""")  # fmt: skip


if __name__ == "__main__":
    main()
