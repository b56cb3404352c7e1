"""Writers for each department format, including the damage real transfers do.

Files whose registry path has a '*' are split by month of the record's time (one file a
month, the way departments send batches); Excel files are also capped in rows.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook

from zhijing.sources.spec import DatasetSpec

EXCEL_MAX_ROWS = 200_000
GARBAGE = b"\x00\xff\xfe\x8b\x08PK\x03\x04\x9c\xe2\x80"


def target_files(spec: DatasetSpec, n: int, month: pd.Series | None,
                 order: np.ndarray | None = None) -> Iterator[tuple[str, np.ndarray]]:  # fmt: skip
    """(relative path, positions among the ``n`` rows written) pairs: one per month where
    the path has a '*' (Excel capped). ``month`` is given per source row; ``order`` maps
    written rows to source rows (a repeated row appears twice)."""
    if "*" not in spec.path:
        yield spec.path, np.arange(n)
        return
    if order is None:
        order = np.arange(n)
    cap = EXCEL_MAX_ROWS if spec.format == "excel" else max(1, n)
    if month is None:
        codes, labels = np.zeros(n, np.intp), np.array(["all"], dtype=object)
    else:
        codes, labels = pd.factorize(month.to_numpy())  # groupby would first copy every row in sorted order
        codes = codes[order]
    for code in np.argsort(labels.astype(object), kind="stable"):
        pos = np.flatnonzero(codes == code)
        for k, start in enumerate(range(0, len(pos), cap)):
            yield spec.path.replace("*", labels[code] if k == 0 else f"{labels[code]}-{k}"), pos[start : start + cap]


def write(spec: DatasetSpec, rows: pd.DataFrame, root: Path, malformed: np.ndarray,
          month: pd.Series | None = None, order: np.ndarray | None = None) -> list[Path]:  # fmt: skip
    """Write ``rows`` in the spec's format under ``root``; break the ``malformed`` rows.

    With ``order`` (positions into ``rows``), the rows written are ``rows.take(order)``,
    taken a file or a chunk at a time rather than copied whole; ``malformed`` counts
    among those."""
    order = np.arange(len(rows)) if order is None else np.asarray(order)
    broken = np.zeros(len(order), bool)
    broken[malformed] = True
    written = []
    for rel, pos in target_files(spec, len(order), month, order):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        take, bad = order[pos], broken[pos]
        if spec.format == "csv":
            _csv(rows, take, path, spec.encoding or "utf-8", bad)
        elif spec.format in ("jsonl", "stream"):
            _jsonl(rows, take, path, bad)
        elif spec.format == "excel":
            _excel(rows.take(take), path, spec.sheet or "Sheet1")
        elif spec.format == "sqlite":
            _sqlite(rows.take(take), path, spec.table or spec.name)
        written.append(path)
    return written


def _csv(rows: pd.DataFrame, take: np.ndarray, path: Path, encoding: str, bad: np.ndarray, chunk: int = 50_000) -> None:
    """CSV of ``rows.take(take)`` in the department's encoding, written a chunk at a time;
    broken rows lose their tail columns or become binary garbage."""
    with path.open("wb") as fh:
        fh.write(",".join(rows.columns).encode(encoding, errors="replace") + b"\n")
        for start in range(0, len(take), chunk):
            lines = rows.take(take[start : start + chunk]).to_csv(index=False, header=False, lineterminator="\n").split("\n")[:-1]
            out = bytearray()
            for i, line in enumerate(lines, start):
                if bad[i]:
                    out += (GARBAGE if i % 2 else line.rsplit(",", 3)[0].encode(encoding, errors="replace")) + b"\n"
                else:
                    out += line.encode(encoding, errors="replace") + b"\n"
            fh.write(bytes(out))


def _jsonl(rows: pd.DataFrame, take: np.ndarray, path: Path, bad: np.ndarray, chunk: int = 25_000) -> None:
    """JSON lines of ``rows.take(take)``, a chunk at a time (row dicts are large); broken
    rows are cut in half."""
    with path.open("w", encoding="utf-8") as fh:
        for start in range(0, len(take), chunk):
            records = rows.take(take[start : start + chunk]).to_dict(orient="records")
            lines = []
            for rec, b in zip(records, bad[start : start + chunk], strict=True):
                line = json.dumps({k: (None if _isnull(v) else _plain(v)) for k, v in rec.items()}, ensure_ascii=False)
                lines.append((line[: len(line) // 2] if b else line) + "\n")
            fh.write("".join(lines))


def _isnull(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _excel(rows: pd.DataFrame, path: Path, sheet: str) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(rows.columns))
    for rec in rows.itertuples(index=False):
        ws.append([_cell(v) for v in rec])
    wb.save(path)
    _reproducible_zip(path)


FIXED_TIME = (2026, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _reproducible_zip(path: Path) -> None:
    """openpyxl stamps the save time into docProps/core.xml and every zip entry; pin both so
    the same seed gives the same bytes."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_TIMES.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type, fixed.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
            dst.writestr(fixed, data)


def _cell(v):
    """Excel cells as a clerk's sheet has them: serial dates are numbers, the rest text."""
    if _isnull(v):
        return None
    v = _plain(v)
    if isinstance(v, str) and v.replace(".", "", 1).isdigit() and "." in v:
        return float(v)
    return v


def _sqlite(rows: pd.DataFrame, path: Path, table: str) -> None:
    with sqlite3.connect(path) as con:
        rows.astype(object).where(rows.notna(), None).to_sql(table, con, index=False, if_exists="replace", chunksize=50_000)
