"""Generator throughput and peak memory at 10^5 and 10^6 persons, beside a peer writing
the same number of rows as plain CSV (DuckDB COPY of a generated range)."""

from __future__ import annotations

import argparse
import os

from bench.common import machine, run_child, write

GEN = """
import json, time, tempfile, resource
from pathlib import Path
from zhijing.sources.generate.city import generate_city
d = Path(tempfile.mkdtemp()) / "city"
t = time.perf_counter(); m = generate_city(d, persons={n}, seed=1, progress=False); s = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_SELF)
size = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
print(json.dumps({{"records": m["records"], "seconds": s, "cpu": u.ru_utime + u.ru_stime, "bytes": size,
                  "peak_mib": u.ru_maxrss / 1024}}))
"""
PEER = """
import json, time, tempfile, resource, duckdb
d = tempfile.mkdtemp()
t = time.perf_counter()
duckdb.sql(f"COPY (SELECT i AS id, 'name' || (i % 9973) AS name, '330212' || lpad(CAST(i AS VARCHAR), 12, '0') AS cid, "
           f"TIMESTAMP '2025-01-01' + to_seconds(i) AS ts FROM range({rows}) r(i)) TO '{{d}}/peer.csv' (HEADER)")
print(json.dumps({{"seconds": time.perf_counter() - t, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = ["## Generator (`zhijing generate`)", "", f"Machine: {machine()}; load average when started {load}.", "",
             "| persons | records | time | records/min | CPU time | MB written | peak RSS | peer: DuckDB COPY of as many plain rows | ratio |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for n in args.persons:
        g = run_child(GEN.format(n=n))
        p = run_child(PEER.format(rows=g["records"]))
        lines.append(f"| {n:,} | {g['records']:,} | {g['seconds']:.1f} s | {g['records'] / g['seconds'] * 60 / 1e6:.2f} M | {g['cpu']:.1f} s | "
                     f"{g['bytes'] / 1e6:.0f} | {g['peak_mib']:.0f} MiB | {p['seconds']:.1f} s | "
                     f"{g['seconds'] / p['seconds']:.0f}× |")  # fmt: skip
    lines += ["", "The generator does far more per row than the peer (names, valid IDs, faults, planted structures, "
              "GBK / Excel / SQLite writers); the peer shows the floor of writing that many rows. Time is wall clock "
              "(the machine is shared: see the load average); CPU time is the generator's own. Peak RSS includes "
              "~220 MiB of imported libraries."]  # fmt: skip
    write("generate", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
