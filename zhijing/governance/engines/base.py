"""The small backend API every governance job runs on (Splink's pattern): register a
table, run SQL into a view or a materialized table, write Parquet, small queries.

Jobs write SQL once, in DuckDB's dialect. The dialect differences live here and only
here: SQLGlot transpiles the SQL, and the few ``zj_*`` placeholder functions whose
spelling has no portable form are expanded per engine from ``PLACEHOLDERS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlglot import exp

# placeholder -> {dialect: template with {0}, {1}, ...}
PLACEHOLDERS: dict[str, dict[str, str]] = {
    # UTC microseconds since the epoch -> an instant (TIMESTAMPTZ / Spark TIMESTAMP)
    "zj_us_to_ts": {
        "duckdb": "CAST(make_timestamp(CAST({0} AS BIGINT)) AS TIMESTAMPTZ)",
        "spark": "TIMESTAMP_MICROS(CAST({0} AS BIGINT))",
    },
    # days since 1970-01-01 -> DATE
    "zj_days_to_date": {
        "duckdb": "CAST(DATE '1970-01-01' + CAST({0} AS INTEGER) AS DATE)",
        "spark": "DATE_FROM_UNIX_DATE(CAST({0} AS INT))",
    },
}


class Engine(ABC):
    """A SQL engine over Parquet. Names registered are session-scoped views/tables."""

    name: str = "?"
    dialect: str = "duckdb"

    def translate(self, sql: str) -> str:
        """DuckDB-dialect SQL with ``zj_*`` placeholders -> this engine's SQL."""
        if self.dialect == "duckdb":
            return sql
        tree = sqlglot.parse_one(sql, read="duckdb")

        def expand(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Anonymous) and str(node.this).lower() in PLACEHOLDERS:
                template = PLACEHOLDERS[str(node.this).lower()][self.dialect]
                args = [a.sql(self.dialect) for a in node.expressions]
                return sqlglot.parse_one(template.format(*args), read=self.dialect)
            if isinstance(node, exp.RegexpExtract) and isinstance(node.args.get("group"), exp.Array):
                # DuckDB's all-groups-in-one-run form -> a struct of one extract per group
                names = node.args["group"].expressions
                fields = ", ".join(
                    f"{n.sql(self.dialect)}, regexp_extract({node.this.sql(self.dialect)}, "
                    f"{node.expression.sql(self.dialect)}, {i})"
                    for i, n in enumerate(names, 1)
                )
                return sqlglot.parse_one(f"named_struct({fields})", read=self.dialect)
            return node

        return tree.transform(expand).sql(self.dialect)

    @abstractmethod
    def register_parquet(self, name: str, files: list[str]) -> None: ...

    @abstractmethod
    def register_arrow(self, name: str, table: pa.Table) -> None: ...

    @abstractmethod
    def create_view(self, name: str, sql: str) -> None:
        """A lazily evaluated named query."""

    @abstractmethod
    def materialize(self, name: str, sql: str) -> None:
        """A named result computed once and reused by several outputs."""

    @abstractmethod
    def write_parquet(self, name: str, folder: Path, partition_by: list[str] | None = None) -> list[Path]:
        """Write table ``name`` as Parquet under ``folder``; return the files."""

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]:
        """Run a small query and return its rows."""

    @abstractmethod
    def table_exists(self, name: str) -> bool: ...

    def close(self) -> None:  # noqa: B027 - optional
        """Release the engine's resources."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def parquet_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
