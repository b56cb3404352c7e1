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
        if partition_by:
            cols = ", ".join(partition_by)
            self.con.execute(
                f"COPY (SELECT * FROM {name}) TO {_lit(str(folder))} "
                f"(FORMAT parquet, PARTITION_BY ({cols}), OVERWRITE_OR_IGNORE true, FILENAME_PATTERN 'part-{{i}}')"
            )
        else:
            self.con.execute(f"COPY (SELECT * FROM {name}) TO {_lit(str(folder / 'part-0.parquet'))} (FORMAT parquet)")
        return parquet_files(folder)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def table_exists(self, name: str) -> bool:
        q = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? UNION ALL SELECT count(*) FROM duckdb_views() WHERE view_name = ?"
        return any(r[0] for r in self.con.execute(q, [name, name]).fetchall())

    def close(self) -> None:
        self.con.close()
