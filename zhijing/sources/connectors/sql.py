"""Department databases through SQLAlchemy (SQLite files, PostgreSQL, anything with a
dialect). A table is read in batches and hashed as it is read: its content hash, not the
database file's, decides whether it is new."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from zhijing.errors import ZhijingError
from zhijing.sources.connectors.base import Landed, raw_schema
from zhijing.sources.connectors.excel import cell_text

BATCH = 50_000


def _text(value: object) -> str | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return cell_text(value)


def safe_url(url: str) -> str:
    """The URL without its password, fit for an error message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database>"


def land_table(
    url: str, table: str, origin: str, dataset: str, fields: list[str], out: Path, schema: str | None = None
) -> Landed:
    """Land ``table`` (all rows, the catalogued fields) from the database at ``url``."""
    engine = sa.create_engine(url)
    digest = hashlib.sha256()
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns(table, schema=schema)}
            missing = [f for f in fields if f not in columns]
            if missing:
                raise ZhijingError(
                    f"{dataset}: table {table} does not match the catalogued schema (missing: {', '.join(missing[:5])})"
                )
            t = sa.Table(table, sa.MetaData(), *[sa.Column(f) for f in fields], schema=schema)
            result = conn.execution_options(yield_per=BATCH).execute(sa.select(*t.c))
            writer = pq.ParquetWriter(out, raw_schema(fields))
            for part in result.partitions(BATCH):
                cols = [[_text(v) for v in col] for col in zip(*part, strict=True)]
                for col in cols:
                    digest.update("\x1f".join("\x00" if v is None else v for v in col).encode("utf-8", "replace"))
                n = len(part)
                writer.write_table(_batch(fields, cols, origin, range(rows + 1, rows + n + 1)))
                rows += n
    except sa.exc.SQLAlchemyError as exc:
        raise ZhijingError(f"{dataset}: database unreachable or unreadable at {safe_url(url)} ({type(exc).__name__})") from exc
    finally:
        if writer is None:
            writer = pq.ParquetWriter(out, raw_schema(fields))
        writer.close()
        engine.dispose()
    sha = digest.hexdigest()
    if rows:  # the hash is known only at the end: stamp it on the file
        tbl = pq.read_table(out)
        tbl = tbl.set_column(tbl.schema.get_field_index("_source_hash"), "_source_hash", pa.array([sha] * rows, pa.string()))
        pq.write_table(tbl, out)
    return Landed(dataset, origin, sha, [out], rows, 0)


def _batch(fields: list[str], cols: list[list], origin: str, lines: range) -> pa.Table:
    n = len(lines)
    return pa.table(
        {
            **{f: pa.array(c, pa.string()) for f, c in zip(fields, cols, strict=True)},
            "_source_file": pa.array([origin] * n, pa.string()),
            "_source_line": pa.array(list(lines), pa.int64()),
            "_source_hash": pa.nulls(n, pa.string()),
            "_error": pa.nulls(n, pa.string()),
            "_raw": pa.nulls(n, pa.string()),
        },
        schema=raw_schema(fields),
    )
