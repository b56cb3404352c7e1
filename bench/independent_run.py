"""Resolve the independent test set the way a user brings a department's file in — the
four commands of issue 12, each a ``zhijing`` process in a fresh deployment:
``sources add FILE --name N --yes``, ``ingest --dataset N``, ``resolve``,
``persons links --dataset N --purpose … --format csv`` — and score it against its truth.
Nothing is declared by hand and the package is not touched.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.independent import DATASET, read_truth


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHIJING_HOME": str(home)}
    r = subprocess.run([sys.executable, "-m", "zhijing", *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"zhijing {' '.join(args[:2])} failed: {(r.stderr.strip().splitlines() or ['?'])[-1][:200]}")
    return r


def route(home: Path, data_dir: Path) -> dict:
    """File → resolved masters → read-back; times the resolution alone (its own process:
    wall, CPU, peak RSS). ``links``: the CSV ``persons links`` wrote."""
    csv_file = data_dir / "sources" / "independent" / "persons.csv"
    _cli(home, "sources", "add", str(csv_file), "--name", DATASET, "--yes")
    ingest = _cli(home, "ingest", "--dataset", DATASET, "--json").stdout
    timed = _timed(lambda: _cli(home, "resolve"))
    out = home / "links.csv"
    _cli(home, "persons", "links", "--dataset", DATASET, "--purpose", "独立测试集核对", "--format", "csv", "--output", str(out))
    return {**timed, "route": "`zhijing sources add --yes`, `ingest --dataset`, `resolve`, `persons links`",
            "ingest": json.loads(ingest[ingest.index("{"):])["totals"], "summary": {}, "links": str(out)}  # fmt: skip


def _timed(run) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": time.perf_counter() - t, "cpu_s": cpu, "peak_mib": after.ru_maxrss / 1024, "stdout": r.stdout}


def score(home: Path, data_dir: Path) -> dict:
    import duckdb

    from zhijing.config import Settings
    from zhijing.entities import evaluate
    from zhijing.lake.store import current_files

    settings = Settings(home=home)
    links = duckdb.sql(f"SELECT mention_id, master_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").df()
    return evaluate.score(links, read_truth(data_dir)).as_dict()


if __name__ == "__main__":
    home, data = Path(sys.argv[1]), Path(sys.argv[2])
    print(json.dumps({**route(home, data), "scores": score(home, data)}, default=str))
