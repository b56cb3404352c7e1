"""Resolve the independent test set the way a user would and score it against its truth.

With ``zhijing sources add`` available (deployment declarations), the four commands of
issue 12 run: ``sources add FILE --name N --yes``, ``ingest --dataset N``, ``resolve``,
``persons links``. Without it, the hand-written declaration ``independent_sources.yaml``
beside this file is the registry the platform reads (the package is not touched).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.independent import DATASET, read_truth

DECLARATION = Path(__file__).with_name("independent_sources.yaml")


def use_declaration(path: Path = DECLARATION) -> None:
    """Make ``path`` the source registry of this process (the fallback route)."""
    from zhijing.sources import spec

    spec.load_spec.__wrapped__.__defaults__ = (path,)
    spec.load_spec.cache_clear()


def ingest_and_resolve(home: Path, data_dir: Path) -> dict:
    """Ingest the CSV under ``data_dir/sources`` into ``home`` and resolve; the run summary."""
    from zhijing.config import Settings
    from zhijing.entities.resolve import resolve_all
    from zhijing.governance.ingest import ingest_city

    use_declaration()
    settings = Settings(home=home)
    sources, note = data_dir / "sources", None
    got = ingest_city(settings, sources, progress=False)
    if got["totals"]["rows_in"] == 0:  # CRLF landed nothing (issue 12, part 2, before its fix)
        sources, note = _lf_copy(data_dir), "CRLF file landed 0 rows; ingested an LF copy"
        got = ingest_city(Settings(home=home), sources, progress=False)
    summary = resolve_all(settings, progress=False)
    return {"ingest": got["totals"], "resolve": summary, "note": note}


def _lf_copy(data_dir: Path) -> Path:
    out = data_dir / "sources_lf"
    for f in (data_dir / "sources").rglob("*.csv"):
        target = out / f.relative_to(data_dir / "sources")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.read_bytes().replace(b"\r\n", b"\n"))
    return out


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
