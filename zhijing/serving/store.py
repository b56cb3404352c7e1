"""Where the serving store lives and how requests reach it.

Readers take a connection from a pool per store version (``connect``): SQLite opened
read-only, so served code cannot write it; PostgreSQL through the ``serving`` schema.
A build writes a new version beside the live one (``new_version``) and switches it in
atomically: ``os.replace`` of the SQLite file (open connections finish on the old file;
the next request's pool opens the new one), or a schema rename inside one PostgreSQL
transaction.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from zhijing.errors import NotReady
from zhijing.serving import tables


def _sqlite_path(settings) -> Path:
    return settings.state_dir / "serving.db"


def _schema(settings) -> str:
    return settings.serving_schema


@lru_cache(maxsize=8)
def _engine_for(url: str, version: object) -> sa.Engine:
    """One pool per (store, version): a switched-in SQLite file gets a fresh pool."""
    if url.startswith("sqlite"):
        # as many kept as the server's worker threads (40): an overflow connection is opened and closed per request
        return sa.create_engine(url, connect_args={"check_same_thread": False}, pool_size=48, max_overflow=16)
    return sa.create_engine(url, pool_size=16, max_overflow=48, pool_pre_ping=True)


def _reader(settings) -> sa.Engine:
    if settings.serving_url:
        return _engine_for(settings.serving_url, None)
    path = _sqlite_path(settings)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise NotReady("no serving store yet: run `zhijing resolve` (or `zhijing serving build`)") from None
    return _engine_for(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true", (st.st_ino, st.st_mtime_ns))


@contextmanager
def connect(settings) -> Iterator[sa.Connection]:
    """A connection of this request's own, from the pool of the live store version."""
    engine = _reader(settings)
    opts = {} if engine.dialect.name == "sqlite" else {"schema_translate_map": {None: _schema(settings)}}
    with engine.connect().execution_options(**opts) as conn:
        yield conn


def exists(settings) -> bool:
    if settings.serving_url:
        with sa.create_engine(settings.serving_url).connect() as conn:
            return sa.inspect(conn).has_table("persons", schema=_schema(settings))
    return _sqlite_path(settings).exists()


class _Target:
    """A store version being built: tables created empty, rows bulk-loaded."""

    def __init__(self, engine: sa.Engine, schema: str | None):
        self.engine, self.schema = engine, schema

    def load(self, table: sa.Table, batches: Iterable[list[tuple]]) -> int:
        n = 0
        with self.engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            name = f'"{self.schema}"."{table.name}"' if self.schema else f'"{table.name}"'
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            cur = raw.cursor()
            for rows in batches:
                if self.schema:  # PostgreSQL: COPY is an order of magnitude faster than INSERT
                    with cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    cur.executemany(f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' * len(table.columns))})", rows)
                n += len(rows)
        return n


def _create_tables(conn: sa.Connection) -> None:
    """The tables without their indexes (built after the load: one sort each, not a
    b-tree insert per row)."""
    for table in tables.metadata.sorted_tables:
        conn.execute(sa.schema.CreateTable(table))


def _create_indexes(conn: sa.Connection) -> None:
    for table in tables.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn)


@contextmanager
def new_version(settings) -> Iterator[_Target]:
    """Yield a fresh, empty store; switch it in when the block completes, drop it if not."""
    if settings.serving_url:
        yield from _new_pg_version(settings)
        return
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = _sqlite_path(settings).with_name(f"serving-{uuid.uuid4().hex[:8]}.building")
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=OFF")
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        with engine.begin() as conn:
            _create_tables(conn)
        yield _Target(engine, None)
        with engine.begin() as conn:
            _create_indexes(conn)
            conn.exec_driver_sql("ANALYZE")
        engine.dispose()
        os.chmod(path, 0o600)
        os.replace(path, _sqlite_path(settings))
    finally:
        engine.dispose()
        path.unlink(missing_ok=True)


def _new_pg_version(settings) -> Iterator[_Target]:
    live, build = _schema(settings), f"{_schema(settings)}_build"
    engine = sa.create_engine(settings.serving_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{build}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{build}"')
        with engine.connect().execution_options(schema_translate_map={None: build}) as conn:
            _create_tables(conn)
            conn.commit()
        yield _Target(engine, build)
        with engine.connect().execution_options(schema_translate_map={None: build}) as conn:
            _create_indexes(conn)
            for table in tables.metadata.sorted_tables:
                conn.exec_driver_sql(f'ANALYZE "{build}"."{table.name}"')
            conn.commit()
        with engine.begin() as conn:  # one transaction: readers see the old schema or the new one
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{live}_old" CASCADE')
            conn.exec_driver_sql(f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '{live}') "
                                 f"THEN EXECUTE 'ALTER SCHEMA \"{live}\" RENAME TO \"{live}_old\"'; END IF; END $$")
            conn.exec_driver_sql(f'ALTER SCHEMA "{build}" RENAME TO "{live}"')
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{live}_old" CASCADE')
    except BaseException:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{build}" CASCADE')
        raise
    finally:
        engine.dispose()
