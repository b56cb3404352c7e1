"""Execution engines for governance jobs: DuckDB (embedded default) and Spark."""

from __future__ import annotations

from zhijing.config import Settings
from zhijing.governance.engines.base import Engine


def make_engine(name: str, settings: Settings | None = None) -> Engine:
    """The engine called ``name`` ("duckdb" or "spark")."""
    if name == "duckdb":
        from zhijing.governance.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from zhijing.governance.engines.spark_engine import SparkEngine

        return SparkEngine(settings)
    from zhijing.errors import ZhijingError

    raise ZhijingError(f"unknown engine {name!r} (duckdb or spark)")
