"""Resolve the independent test set the way a user would and score it against its truth.

With ``zhijing sources add`` available (deployment declarations), the four commands of
issue 12 run: ``sources add FILE --name N --yes``, ``ingest --dataset N``, ``resolve``,
``persons links``. Without it, the hand-written declaration ``independent_sources.yaml``
beside this file is the registry the platform reads (the package is not touched).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.independent import DATASET, read_truth

DECLARATION = Path(__file__).with_name("independent_sources.yaml")


def declare(home: Path, data_dir: Path) -> None:
    """Declare the set in the deployment as a data center would without ``sources add``:
    the hand-written declaration (``independent_sources.yaml``) in ``<home>/sources/``,
    the department's file beside it."""
    import shutil

    import yaml

    folder = home / "sources"
    (folder / "independent").mkdir(parents=True, exist_ok=True)
    shutil.copy(data_dir / "sources" / "independent" / "persons.csv", folder / "independent" / "persons.csv")
    doc = yaml.safe_load(DECLARATION.read_text(encoding="utf-8"))
    (folder / "independent.yaml").write_text(yaml.safe_dump({"datasets": doc["datasets"]}, allow_unicode=True), encoding="utf-8")


def ingest_and_resolve(home: Path, data_dir: Path) -> dict:
    """Ingest the CSV under ``data_dir/sources`` into ``home`` and resolve, in this process;
    the ingest totals and the run summary."""
    from zhijing.config import Settings
    from zhijing.entities.resolve import resolve_all

    got = ingest_only(home, data_dir)
    summary = resolve_all(Settings(home=home), progress=False)
    return {"ingest": got["totals"], "resolve": summary, "note": got["note"]}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHIJING_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "zhijing", *args], capture_output=True, text=True, env=env)


def has_sources_add() -> bool:
    """True once deployment declarations exist (``zhijing sources add``)."""
    return _cli(Path(tempfile.gettempdir()), "sources", "add", "--help").returncode == 0


def route(home: Path, data_dir: Path) -> dict:
    """The independent set from file to resolved masters the way a user takes it; times the
    resolution alone (its own process: wall, CPU, peak RSS)."""
    csv_file = data_dir / "sources" / "independent" / "persons.csv"
    if has_sources_add():
        steps = [("sources", "add", str(csv_file), "--name", DATASET, "--yes"), ("ingest", "--dataset", DATASET)]
        for step in steps:
            r = _cli(home, *step)
            if r.returncode != 0:
                raise SystemExit(f"{' '.join(step[:2])} failed: {(r.stderr.strip().splitlines() or ['?'])[-1][:200]}")
        timed = _timed(lambda: _cli(home, "resolve"))
        out = home / "links.csv"
        links = _cli(home, "persons", "links", "--dataset", DATASET, "--purpose", "独立测试集核对", "--format", "csv",
                     "--output", str(out))  # fmt: skip
        return {**timed, "route": "`zhijing sources add --yes`, `ingest --dataset`, `resolve`, `persons links`",
                "ingest": "by `zhijing ingest`", "summary": {}, "links_ok": links.returncode == 0}  # fmt: skip
    code = ("import json, sys; from pathlib import Path; from bench.independent_run import ingest_only; "
            "print(json.dumps(ingest_only(Path(sys.argv[1]), Path(sys.argv[2]))))")
    r = subprocess.run([sys.executable, "-c", code, str(home), str(data_dir)], capture_output=True, text=True, check=True)
    ingest = json.loads(r.stdout.strip().splitlines()[-1])
    code = ("import json, sys; from pathlib import Path; "
            "from zhijing.config import Settings; from zhijing.entities.resolve import resolve_all\n"
            "print(json.dumps(resolve_all(Settings(home=Path(sys.argv[1])), progress=False), default=str))")
    timed = _timed(lambda: subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, check=True))
    summary = json.loads(timed.pop("stdout").strip().splitlines()[-1])
    note = f" ({ingest['note']})" if ingest.get("note") else ""
    return {**timed, "summary": summary, "ingest": f"{ingest['totals']}{note}",
            "route": "declared by hand in the deployment (`bench/independent_sources.yaml` into `<home>/sources/`), "
                     "ingested, resolved"}  # fmt: skip


def _timed(run) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": time.perf_counter() - t, "cpu_s": cpu, "peak_mib": after.ru_maxrss / 1024, "stdout": r.stdout}


def ingest_only(home: Path, data_dir: Path) -> dict:
    from zhijing.config import Settings
    from zhijing.governance.ingest import ingest_city

    declare(home, data_dir)
    got = ingest_city(Settings(home=home), progress=False, datasets=[DATASET])
    return {"totals": got["totals"], "note": None}


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
    print(json.dumps({**ingest_and_resolve(home, data), "scores": score(home, data)}, default=str))
