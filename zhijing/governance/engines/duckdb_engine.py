"""The embedded default engine: DuckDB over Parquet, in process."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from zhijing.governance.engines.base import PLACEHOLDERS, Engine, parquet_files


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"
    MAX_PARTITION_SCANS = 36  # more distinct partition values: DuckDB's PARTITION_BY writer

    def __init__(self, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.con = con or duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET preserve_insertion_order = false")
        for name, templates in PLACEHOLDERS.items():
            params = ", ".join(f"a{i}" for i in range(templates["duckdb"].count("{")))
            body = templates["duckdb"].format(*[f"a{i}" for i in range(templates["duckdb"].count("{"))])
            self.con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS {body}")

    def register_parquet(self, name: str, files: list[str]) -> None:
        listing = "[" + ", ".join(_lit(str(f)) for f in files) + "]"
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({listing}, union_by_name=true)")

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register(f"{name}__arrow", table)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}__arrow")

    def create_view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def write_parquet(self, name: str, folder: Path, partition_by: list[str] | None = None) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        if partition_by and len(partition_by) == 1 and self._write_each_partition(name, folder, partition_by[0]):
            return parquet_files(folder)
        if partition_by:
            cols = ", ".join(partition_by)
            self.con.execute(
                f"COPY (SELECT * FROM {name}) TO {_lit(str(folder))} "
                f"(FORMAT parquet, PARTITION_BY ({cols}), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'part-{{i}}')"
            )
        else:
            self.con.execute(f"COPY (SELECT * FROM {name}) TO {_lit(str(folder / 'part-0.parquet'))} (FORMAT parquet)")
        return parquet_files(folder)

    def _write_each_partition(self, name: str, folder: Path, col: str) -> bool:
        """A few partitions (months): one plain COPY per value is cheaper than DuckDB's
        PARTITION_BY writer (which buffers every partition per thread). Same layout:
        ``col=value/part-0.parquet``, the hive column in the path only."""
        values = [r[0] for r in self.con.execute(f"SELECT DISTINCT {col} FROM {name}").fetchall()]
        if not values or len(values) > self.MAX_PARTITION_SCANS or any(v is None or "/" in str(v) for v in values):
            return False
        for v in values:
            part = folder / f"{col}={v}"
            part.mkdir(parents=True, exist_ok=True)
            self.con.execute(
                f"COPY (SELECT * EXCLUDE ({col}) FROM {name} WHERE {col} = {_lit(str(v))}) "
                f"TO {_lit(str(part / 'part-0.parquet'))} (FORMAT parquet)"
            )
        return True

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def table_exists(self, name: str) -> bool:
        q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL SELECT count(*) FROM duckdb_views() WHERE view_name = ?"
        return any(r[0] for r in self.con.execute(q, [name, name]).fetchall())

    def close(self) -> None:
        self.con.close()
