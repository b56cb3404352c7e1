"""Excel workbooks (.xlsx), read row by row in openpyxl's read-only mode.

Cells become the text a clerk would see: dates as ``YYYY-MM-DD HH:MM:SS``, numbers as
written (Excel serial dates stay numbers — governance parses them), so raw keeps what
the sheet holds.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import Landed, cap_text, raw_schema, sha256_file


def cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def land_excel(path: Path, origin: str, dataset: str, fields: list[str], sheet: str | None, out: Path) -> Landed:
    """Land one sheet; a row with cells beyond the header is kept as an error row."""
    from openpyxl import load_workbook

    sha = sha256_file(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ZhijingError(f"{dataset}: {origin} is not a readable Excel workbook ({type(exc).__name__})") from exc
    try:
        if sheet and sheet not in wb.sheetnames:
            raise ZhijingError(f"{dataset}: {origin} has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)[:200]})")
        ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        while header and header[-1] == "":
            header.pop()
        missing = [f for f in fields if f not in header]
        unexpected = [h for h in header if h not in fields]
        if missing or unexpected:
            raise ZhijingError(
                f"{dataset}: header of {origin} does not match the catalogued schema "
                f"(missing: {', '.join(missing[:5]) or '-'}; unexpected: {', '.join(unexpected[:5]) or '-'})"
            )
        index = [header.index(f) for f in fields]
        columns: dict[str, list] = {f: [] for f in fields}
        lines, errors, raws = [], [], []
        try:
            for line, row in enumerate(rows, start=2):
                texts = [cell_text(v) for v in row]
                if not any(t not in (None, "") for t in texts):
                    continue  # an empty row is no record
                extra = any(t not in (None, "") for t in texts[len(header) :])
                for f, i in zip(fields, index, strict=True):
                    columns[f].append(None if extra or i >= len(texts) else texts[i])
                lines.append(line)
                errors.append("extra_cells" if extra else None)
                raws.append(cap_text(",".join(t or "" for t in texts)) if extra else None)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ZhijingError(f"{dataset}: {origin} is truncated or corrupt ({type(exc).__name__})") from exc
    finally:
        wb.close()
    n = len(lines)
    table = pa.table(
        {
            **{f: pa.array(columns[f], pa.string()) for f in fields},
            "_source_file": pa.array([origin] * n, pa.string()),
            "_source_line": pa.array(lines, pa.int64()),
            "_source_hash": pa.array([sha] * n, pa.string()),
            "_error": pa.array(errors, pa.string()),
            "_raw": pa.array(raws, pa.string()),
        },
        schema=raw_schema(fields),
    )
    pq.write_table(table, out)
    return Landed(dataset, origin, sha, [out], n, sum(e is not None for e in errors), path.stat().st_size)
