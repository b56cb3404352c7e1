"""Which inputs a dataset has in a sources folder, and how to land each one.

Files are hashed before landing, so an input already in the ledger costs one read and
nothing else; a database table's hash is known only after reading it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import Landed, sha256_file
from zhijing.sources.connectors.excel import land_excel
from zhijing.sources.connectors.files import land_csv, land_jsonl
from zhijing.sources.connectors.ftm import land_ftm
from zhijing.sources.connectors.sql import land_table
from zhijing.sources.spec import DatasetSpec


@dataclass
class Input:
    origin: str  # path relative to the sources folder (or table reference)
    path: Path | None
    sha256: str | None  # None until landed (database tables)
    land: Callable[[Path], Landed]  # out file -> landed raw


def discover(spec: DatasetSpec, sources_dir: Path, line_cap: int) -> list[Input]:
    """The inputs of ``spec`` under ``sources_dir`` (stream datasets: the replay file)."""
    fields = spec.field_names
    if spec.format == "sqlite":
        db = sources_dir / spec.path
        if not db.exists():
            return []
        url = f"sqlite:///{db.resolve()}"
        origin = f"{spec.path}:{spec.table}"
        return [Input(origin, db, None, lambda out: land_table(url, spec.table or spec.name, origin, spec.name, fields, out))]
    paths = sorted(sources_dir.glob(spec.path)) if "*" in spec.path else [sources_dir / spec.path]
    inputs = []
    for path in paths:
        if not path.is_file():
            continue
        origin = str(path.relative_to(sources_dir))
        if spec.format == "csv":
            land = lambda out, p=path, o=origin: land_csv(p, o, spec.name, fields, spec.encoding, line_cap, out,  # noqa: E731
                                                          spec.delimiter, spec.quote, spec.header)
        elif spec.format in ("jsonl", "stream"):
            land = lambda out, p=path, o=origin: land_jsonl(p, o, spec.name, fields, line_cap, out)  # noqa: E731
        elif spec.format == "ftm":
            land = lambda out, p=path, o=origin: land_ftm(p, o, spec.name, fields, spec.ftm_schema, out)  # noqa: E731
        elif spec.format == "excel":
            land = lambda out, p=path, o=origin: land_excel(p, o, spec.name, fields, spec.sheet, out)  # noqa: E731
        else:  # pragma: no cover - the spec's Literal forbids it
            raise ZhijingError(f"{spec.name}: unsupported format {spec.format}")
        inputs.append(Input(origin, path, sha256_file(path), land))
    return inputs
