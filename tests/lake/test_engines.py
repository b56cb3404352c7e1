"""One job definition, two engines: DuckDB and Spark give identical clean outputs."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from zhijing.governance.engines.duckdb_engine import DuckDBEngine
from zhijing.governance.jobs import JobParams, run_clean
from zhijing.lake.store import current_files
from zhijing.sources.spec import load_spec


@pytest.mark.spark
def test_duckdb_and_spark_agree(ingested, spark_engine, tmp_path):
    settings, _ = ingested
    params = JobParams("eq", 1_700_000_000_000_000, date(2025, 6, 1))
    for spec in load_spec().datasets:
        raw = current_files(settings, "raw", spec.name)
        outs = {}
        for eng in (DuckDBEngine(), spark_engine):
            outs[eng.name] = run_clean(eng, spec, raw, [], params, tmp_path / eng.name / spec.name)
        assert outs["duckdb"].counts == outs["spark"].counts, spec.name
        assert outs["duckdb"].reasons == outs["spark"].reasons, spec.name
        for zone in ("clean", "quarantine"):
            order = "_source_file, _source_line"
            got = [
                duckdb.sql(
                    f"SELECT * FROM read_parquet('{tmp_path}/{n}/{spec.name}/{zone}/**/*.parquet', hive_partitioning=true, "
                    f"union_by_name=true) ORDER BY {order}"
                ).fetchall()
                for n in ("duckdb", "spark")
            ]
            assert got[0] == got[1], (spec.name, zone)


@pytest.mark.spark
def test_spark_ingest_end_to_end(city, tmp_path):
    from zhijing.config import Settings
    from zhijing.governance.ingest import ingest_city

    s = Settings(home=tmp_path / "home")
    out = ingest_city(s, city[0], engine="spark", progress=False, datasets=["lodging", "rail_ticket"])
    assert all(r["status"] == "ok" and r["balanced"] for r in out["datasets"])
