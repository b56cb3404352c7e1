"""CSV and JSON-lines files, read by DuckDB's parallel CSV reader.

Rows DuckDB rejects (wrong column count, bad quoting, invalid UTF-8) come back from its
rejects table with their physical line number and text; over-long lines come from the
scan. Good rows get their physical line number too: the scan knows which lines produced
no row, and an ASOF join turns row ordinals into line numbers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pyarrow as pa

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import (
    RAW_META,
    Landed,
    cap_sql,
    cap_text,
    quote_ident,
    raw_schema,
    sql_str,
)
from zhijing.sources.connectors.encoding import TextScan, detect_encoding, scan_text

_JSON_DELIM = "\x1f"  # a raw unit separator never appears in valid JSON text
TRAILING = "__trailing__"  # the empty column after a trailing delimiter
_MAX_HEADER = 64 << 10


def read_header(scan: TextScan, dataset: str, origin: str, expected: list[str], delimiter: str = ",",
                quote: str = '"') -> list[str]:  # fmt: skip
    """The CSV header in file order; a mismatch with the catalogued schema is an error. A
    trailing delimiter (``a,b,``) gives an unnamed last column, read as ``TRAILING``."""
    with open(scan.path, "rb") as fh:
        first = fh.readline(_MAX_HEADER)
    enc = "utf-8" if scan.path.suffix == ".txt" else scan.encoding
    text = first.decode(enc, errors="replace").lstrip("\ufeff").rstrip("\r\n")
    dialect = {"delimiter": delimiter, "quotechar": quote or None, "quoting": csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE}
    names = [n.strip() for n in next(csv.reader(io.StringIO(text), **dialect), [])]
    if len(names) > 1 and names[-1] == "":
        names[-1] = TRAILING
        expected = [*expected, TRAILING]
    missing = [n for n in expected if n not in names]
    unexpected = [n for n in names if n not in expected]
    if missing or unexpected or len(names) != len(set(names)):
        shown = lambda xs: ", ".join(x[:30] for x in xs[:5]) or "-"  # noqa: E731
        raise ZhijingError(
            f"{dataset}: header of {origin} does not match the catalogued schema "
            f"(missing: {shown(missing)}; unexpected: {shown(unexpected)})"
        )
    return names


def _line_numbers_sql(con: duckdb.DuckDBPyConnection, skipped: list[int], first: int) -> str:
    """SQL for a table ``_lines(_ord, _source_line)``-producing ASOF join input: for the k-th
    row, its physical line is first + k - 1 + (skipped lines before it)."""
    gaps = pa.table(
        {"g": pa.array([s - first - j for j, s in enumerate(skipped)], pa.int64()),
         "j": pa.array(range(1, len(skipped) + 1), pa.int64())}
    )
    con.register("_skips", gaps)
    con.execute("CREATE OR REPLACE TEMP TABLE _gaps AS SELECT g, max(j) AS j FROM _skips GROUP BY g")
    return "_gaps"


def _land_text(
    con: duckdb.DuckDBPyConnection,
    scan: TextScan,
    reader_sql: str,
    select_fields: str,
    first_line: int,
    dataset: str,
    origin: str,
    out: Path,
    error_sql: str = "NULL",
    raw_sql: str = "NULL",
) -> Landed:
    """Shared second half of CSV and JSONL landing: parse, number lines, add rejects.

    One pass writes the rows numbered as if every line gave a row; only when the scan or
    the reader skipped lines (blank, over-long, rejected) does a second pass renumber them
    and add the rejected lines."""
    offset = first_line - 1
    meta = (
        f"{sql_str(origin)} AS _source_file, (row_number() OVER () + {offset})::BIGINT AS _source_line, "
        f"{sql_str(scan.sha256)} AS _source_hash, ({error_sql})::VARCHAR AS _error, ({raw_sql})::VARCHAR AS _raw"
    )
    good = out.with_suffix(".good.parquet")
    try:
        con.execute(f"COPY (SELECT {select_fields}, {meta} FROM {reader_sql}) TO {sql_str(str(good))} (FORMAT parquet)")
    except duckdb.Error as exc:
        raise ZhijingError(f"{dataset}: cannot parse {origin}: {str(exc).splitlines()[0][:160]}") from exc
    rejects = con.execute(
        "SELECT line, any_value(error_type), any_value(csv_line) FROM reject_errors GROUP BY line ORDER BY line"
    ).fetchall()
    skipped = sorted(set(scan.skipped) | {int(r[0]) for r in rejects})
    endings = ", ".join(f"{k} {v}" for k, v in scan.endings.items() if v)
    notes = [f"encoding {scan.encoding}", f"line endings {endings or 'none'}"]
    notes += [f"{len(scan.long)} over-long line(s)"] if scan.long else []
    if not skipped:
        _require_rows(con, scan, good, first_line, dataset, origin)
        good.replace(out)
        rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(out))})").fetchone()[0]
        return Landed(dataset, origin, scan.sha256, [out], rows, 0, scan.size, notes)
    fields = con.sql(f"SELECT * FROM read_parquet({sql_str(str(good))}) LIMIT 0").columns
    names = [c for c in fields if c not in RAW_META]
    field_cols = ", ".join(quote_ident(c) for c in names)
    gaps = _line_numbers_sql(con, [s for s in skipped if s >= first_line], first_line)
    ordinal = f"(r._source_line - {offset})"
    line_expr = "r._source_line + coalesce(_gaps.j, 0)"
    source = f"read_parquet({sql_str(str(good))}) r ASOF LEFT JOIN {gaps} ON {gaps}.g < {ordinal}"
    errors = [(int(line), str(kind).lower().replace(" ", "_"), cap_text(text)) for line, kind, text in rejects]
    errors += [(n, "line_too_long", cap_text(prefix)) for n, prefix in scan.long]
    err_table = pa.table(
        {
            **{n: pa.nulls(len(errors), pa.string()) for n in names},
            "_source_file": pa.array([origin] * len(errors), pa.string()),
            "_source_line": pa.array([e[0] for e in errors], pa.int64()),
            "_source_hash": pa.array([scan.sha256] * len(errors), pa.string()),
            "_error": pa.array([e[1] for e in errors], pa.string()),
            "_raw": pa.array([e[2] for e in errors], pa.string()),
        },
        schema=raw_schema(names),
    )
    con.register("_errors", err_table)
    con.execute(
        f"COPY (SELECT {field_cols}, r._source_file, ({line_expr})::BIGINT AS _source_line, r._source_hash, "
        f"r._error, r._raw FROM {source} "
        f"UNION ALL SELECT * FROM _errors) TO {sql_str(str(out))} (FORMAT parquet)"
    )
    good.unlink()
    rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(out))})").fetchone()[0]
    return Landed(dataset, origin, scan.sha256, [out], rows, len(errors), scan.size, notes)


def _require_rows(con: duckdb.DuckDBPyConnection, scan: TextScan, good: Path, first_line: int, dataset: str, origin: str) -> None:
    """A file with data lines that gave no row, good or rejected, lost them: an error, never "ok"."""
    data_lines = scan.lines - (first_line - 1) - len([n for n in scan.blank if n >= first_line])
    if data_lines > 0 and con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(good))})").fetchone()[0] == 0:
        raise ZhijingError(f"{dataset}: {origin} has {data_lines:,} non-blank line(s) but none could be read as a row "
                           f"(delimiter, quoting or line endings not as declared?)")  # fmt: skip


def _reader(path: Path, columns: list[str], header: bool, cap: int, delim: str, quote: str) -> str:
    cols = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
    return (
        f"read_csv({sql_str(str(path))}, columns={cols}, header={str(header).lower()}, auto_detect=false, "
        f"delim={sql_str(delim)}, quote={sql_str(quote)}, escape={sql_str(quote)}, strict_mode=true, "
        f"ignore_errors=true, store_rejects=true, max_line_size={cap + 1024}, encoding='utf-8', "
        f"null_padding=false, new_line='\\n')"
    )


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    return con


def land_csv(
    path: Path, origin: str, dataset: str, fields: list[str], encoding: str | None, cap: int, out: Path,
    delimiter: str = ",", quote: str = '"', header: bool = True,
) -> Landed:  # fmt: skip
    """Land one CSV file (any encoding, any line endings) as raw rows."""
    enc = detect_encoding(path, encoding)
    scan = scan_text(path, enc, cap, out.parent)
    names = read_header(scan, dataset, origin, fields, delimiter, quote) if header else list(fields)
    select = ", ".join(quote_ident(f) for f in fields)
    reader = _reader(scan.path, names, header, cap, delimiter, quote)
    error = raw = "NULL"
    if TRAILING in names:  # a value after the trailing delimiter is a column too many, not something to drop
        error = f"CASE WHEN coalesce({quote_ident(TRAILING)}, '') <> '' THEN 'extra_columns' END"
        raw = f"CASE WHEN coalesce({quote_ident(TRAILING)}, '') <> '' THEN {cap_sql(_joined(names, delimiter))} END"
    with _connect() as con:
        return _land_text(con, scan, reader, select, 2 if header else 1, dataset, origin, out, error, raw)


def _joined(names: list[str], delimiter: str) -> str:
    return f"concat_ws({sql_str(delimiter)}, " + ", ".join(f"coalesce({quote_ident(n)}, '')" for n in names) + ")"


def _safe_json(text: str) -> str:
    """The text when it is valid JSON, else 'null' (DuckDB may evaluate CASE arms eagerly)."""
    return f"CASE WHEN json_valid({text}) THEN {text} ELSE 'null' END"


def _json_object(text: str) -> str:
    return f"CASE WHEN json_type({_safe_json(text)}) = 'OBJECT' THEN {_safe_json(text)} ELSE '{{}}' END"


def json_fields_sql(fields: list[str], text: str = "text") -> str:
    """Each field as text from a JSON object line; NULL when the line is not an object."""
    doc = _json_object(text)
    return ", ".join(f"json_extract_string({doc}, {sql_str('$.' + quote_ident(f))}) AS {quote_ident(f)}" for f in fields)


def json_error_sql(text: str = "text", fields: list[str] | None = None) -> str:
    """Why a JSON line cannot be landed as one row: not JSON, not an object, or (with
    ``fields``) a field holding a list or object — a value the clean zone cannot hold as one
    data element, so the row goes to quarantine rather than landing as its text."""
    nested = ""
    if fields:
        paths = ", ".join(sql_str("$." + quote_ident(f)) for f in fields)
        nested = f"WHEN list_has_any(json_type({_safe_json(text)}, [{paths}]), ['ARRAY', 'OBJECT']) THEN 'nested_value' "
    return (
        f"CASE WHEN NOT json_valid({text}) THEN 'unparsable_json' "
        f"WHEN json_type({_safe_json(text)}) <> 'OBJECT' THEN 'not_an_object' {nested}END"
    )


def land_jsonl(path: Path, origin: str, dataset: str, fields: list[str], cap: int, out: Path) -> Landed:
    """Land one JSON-lines file; a line that is not a JSON object is kept as an error row."""
    enc = detect_encoding(path, "utf-8")
    scan = scan_text(path, enc, cap, out.parent)
    err = json_error_sql(fields=fields)
    select = f"{json_fields_sql(fields)}, {err} AS _jerr, CASE WHEN {err} IS NOT NULL THEN {cap_sql('text')} END AS _jraw"
    with _connect() as con:
        landed = _land_text(
            con, scan, _reader(scan.path, ["text"], False, cap, _JSON_DELIM, ""), select, 1, dataset, origin, out
        )
        return _fold_json_errors(con, landed, fields)


def _fold_json_errors(con: duckdb.DuckDBPyConnection, landed: Landed, fields: list[str]) -> Landed:
    """Move the JSON parse verdict into ``_error`` / ``_raw`` (capped) of the raw schema."""
    src = landed.files[0]
    tmp = src.with_suffix(".json.parquet")
    cols = ", ".join(quote_ident(f) for f in fields)
    con.execute(
        f"COPY (SELECT {cols}, _source_file, _source_line, _source_hash, coalesce(_error, _jerr) AS _error, "
        f"CASE WHEN _error IS NOT NULL THEN _raw WHEN _jerr IS NOT NULL THEN _jraw END AS _raw "
        f"FROM read_parquet({sql_str(str(src))})) TO {sql_str(str(tmp))} (FORMAT parquet)"
    )
    tmp.replace(src)
    errors = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(src))}) WHERE _error IS NOT NULL").fetchone()[0]
    landed.errors = errors
    return landed
