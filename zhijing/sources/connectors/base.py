"""What every connector produces: raw rows of one content-hashed input, staged as Parquet.

Raw rows keep every source field as the text the department sent (``VARCHAR``), plus
where it came from. A record that could not even be split into fields is kept too, with
``_error`` saying why and ``_raw`` holding (a capped prefix of) its original text — the
governance jobs send those rows to quarantine, so nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

RAW_META = ("_source_file", "_source_line", "_source_hash", "_error", "_raw")
RAW_PREFIX_CHARS = 2000  # quarantine keeps at most this much of an unparsable record
DEFAULT_LINE_CAP = 1 << 20  # bytes; longer "lines" are quarantined unread (2 GB lines happen)


@dataclass
class Landed:
    """One input landed as staged raw Parquet files (not yet visible in the lake)."""

    dataset: str
    origin: str  # relative path, table name, push batch or stream range
    sha256: str
    files: list[Path]
    rows: int  # records read, parsable or not
    errors: int  # records that could not be split into fields
    size: int = 0
    notes: list[str] = field(default_factory=list)


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def raw_schema(fields: list[str]) -> pa.Schema:
    return pa.schema(
        [pa.field(f, pa.string()) for f in fields]
        + [
            pa.field("_source_file", pa.string()),
            pa.field("_source_line", pa.int64()),
            pa.field("_source_hash", pa.string()),
            pa.field("_error", pa.string()),
            pa.field("_raw", pa.string()),
        ]
    )


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def cap_text(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= RAW_PREFIX_CHARS else text[:RAW_PREFIX_CHARS] + f"…[{len(text)} chars]"


def cap_sql(expr: str) -> str:
    """SQL twin of ``cap_text``."""
    n = RAW_PREFIX_CHARS
    return f"CASE WHEN length({expr}) > {n} THEN left({expr}, {n}) || '…[' || length({expr}) || ' chars]' ELSE {expr} END"
