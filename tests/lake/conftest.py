"""Fixtures for lake / connectors / governance tests: a tiny city, ingested once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixture_city import write_city  # noqa: E402

from zhijing.config import Settings  # noqa: E402


@pytest.fixture(scope="session")
def city(tmp_path_factory) -> tuple[Path, dict]:
    """(sources folder, facts about planted faults)."""
    sources = tmp_path_factory.mktemp("city") / "sources"
    return sources, write_city(sources)


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def ingested(tmp_path_factory, city) -> tuple[Settings, dict]:
    """The fixture city ingested once on DuckDB: (settings, summary)."""
    from zhijing.governance.ingest import ingest_city

    s = Settings(home=tmp_path_factory.mktemp("home"))
    return s, ingest_city(s, city[0], engine="duckdb", progress=False)


@pytest.fixture(scope="session")
def spark_engine():
    pytest.importorskip("pyspark")
    from zhijing.governance.engines.spark_engine import SparkEngine

    return SparkEngine()
