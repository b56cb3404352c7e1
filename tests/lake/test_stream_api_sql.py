"""Streams (in-process and NATS), the HTTP push endpoint, API routes, PostgreSQL, purge."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from zhijing.errors import ZhijingError
from zhijing.governance.ingest import DatasetSummary, clean_pending, consume_stream, ingest_city
from zhijing.lake.store import current_manifest
from zhijing.sources.connectors.sql import land_table
from zhijing.sources.connectors.stream import MemoryBroker, NatsBroker, replay_jsonl
from zhijing.sources.spec import load_spec


class FlakyBroker(MemoryBroker):
    """Goes away after ``fail_after`` fetches."""

    def __init__(self, fail_after: int) -> None:
        super().__init__()
        self.fail_after = fail_after

    async def fetch(self, subject, durable, batch, timeout):
        if self.fail_after <= 0:
            raise ZhijingError("stream broker went away")
        self.fail_after -= 1
        return await super().fetch(subject, durable, 3, timeout)


def test_broker_going_away_mid_stream_resumes(settings, city):
    spec = load_spec().dataset("checkpoint_read")
    path = city[0] / spec.path
    broker = FlakyBroker(fail_after=2)
    asyncio.run(replay_jsonl(broker, path, spec.subject, "f" * 64, 1 << 20))
    with pytest.raises(ZhijingError):
        consume_stream(settings, spec, broker, DatasetSummary(spec.name))
    assert current_manifest(settings, "raw", spec.name).rows == 6  # two acked batches landed
    assert current_manifest(settings, "clean", spec.name) is None
    broker.fail_after = 100
    summary = DatasetSummary(spec.name)
    consume_stream(settings, spec, broker, summary)
    from zhijing.governance.engines.duckdb_engine import DuckDBEngine

    clean_pending(settings, spec, DuckDBEngine(), summary, [])
    assert summary.rows_in == 17 and summary.balanced and summary.clean == 13


@pytest.mark.nats
def test_nats_stream_ingest(settings, city):
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 4222)) != 0:
            pytest.skip("NATS JetStream not reachable at 127.0.0.1:4222")
    settings = settings.model_copy(update={"stream": "nats"})
    spec = load_spec().dataset("door_access")

    async def reset():
        b = await NatsBroker(settings.nats.url, settings.nats.stream).connect()
        try:
            await b.js.purge_stream(b.stream, subject=spec.subject)
            with contextlib.suppress(Exception):
                await b.js.delete_consumer(b.stream, f"zhijing-{spec.name}")
        finally:
            await b.close()

    asyncio.run(reset())
    out = ingest_city(settings, city[0], progress=False, datasets=["door_access"])
    r = out["datasets"][0]
    assert r["status"] == "ok" and r["rows_in"] == 17 and r["balanced"], r
    again = ingest_city(settings, city[0], progress=False, datasets=["door_access"])
    assert again["datasets"][0]["status"] == "unchanged"
    asyncio.run(reset())


def test_catalog_and_quarantine_routes(ingested, make_api):
    from zhijing.access.seed import DEMO_CASE as CASE

    client = make_api(ingested[0].home)
    h = client.headers("xingzhen01")
    assert client.get("/api/catalog").status_code == 401  # identity first
    listing = client.get("/api/catalog", headers=h).json()
    assert {"lodging", "hukou_person"} <= {e["name"] for e in listing}
    entry = client.get("/api/catalog/lodging", headers=h).json()
    assert entry["grade"] == "重要" and entry["lineage"]["job"] and entry["quality"]["score"] > 0
    q = client.get("/api/catalog/lodging/quality", headers=h).json()
    assert q["history"] and q["quarantine_reasons"]
    assert client.get("/api/catalog/nope", headers=h).status_code == 404
    assert client.get("/api/quarantine/lodging", headers=h).status_code == 403  # person data: purpose required
    rows = client.get("/api/quarantine/lodging", headers=h, params={"purpose": CASE}).json()["rows"]
    assert rows and all(r["reason"] and r["reason_text"] for r in rows)


def test_routes_declare_their_permissions():
    from zhijing.governance.push import router as push_router
    from zhijing.governance.routes import router

    declared = {}
    for route in [*router.routes, *push_router.routes]:
        for dep in route.dependant.dependencies:
            perm = getattr(dep.call, "__zhijing_permission__", None)
            if perm:
                declared[route.path] = (perm, dep.call.__zhijing_person_data__)
    assert declared["/api/quarantine/{name}"] == ("quarantine:read", True)
    assert declared["/api/catalog"] == ("catalog:read", False)
    assert declared["/api/ingest/push/{dataset}"] == ("ingest:push", False)


def test_http_push(api):
    c = api
    from zhijing.access import grants
    from zhijing.config import get_settings

    grants.grant(get_settings(), "卫健委", "ingest:push", "incident_110")  # a push scope, granted as data
    h = api.headers("weijian01")  # an external department account pushes
    batch = [{"jjdbh": "J1", "bjsj": "2024-03-05 13:04:05", "bjrxm": "王伟", "bjrdh": "+8613812345678", "sfdz": "宁波市海曙区中山西路1号"},
             {"jjdbh": "J2", "bjsj": "明天"}, {"jjdbh": "", "bjsj": "2024-03-05"}]  # fmt: skip
    assert c.post("/api/ingest/push/incident_110", json=batch, headers=api.headers("paichusuo01")).status_code == 403
    r = c.post("/api/ingest/push/incident_110", json=batch, headers=h).json()
    assert (r["rows_in"], r["clean"], r["quarantined"]) == (3, 1, 2) and r["balanced"]
    again = c.post("/api/ingest/push/incident_110", json={"records": batch}, headers=h).json()
    assert again["status"] == "unchanged"
    assert c.post("/api/ingest/push/nope", json=batch, headers=h).status_code == 403  # no scope on it
    assert c.post("/api/ingest/push/incident_110", json=[], headers=h).status_code == 422


@pytest.mark.postgres
def test_postgres_table(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        engine.connect().close()
    except Exception:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (user postgres, db test)")
    schema = f"zj_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(sa.text(f'CREATE TABLE "{schema}".t_hjrk ("RKBM" text, "XM" text, "CSRQ" date)'))
        conn.execute(sa.text(f'INSERT INTO "{schema}".t_hjrk VALUES (\'R1\', \'王伟\', \'1990-01-02\'), (\'R2\', NULL, NULL)'))
    try:
        landed = land_table(url, "t_hjrk", "pg:t_hjrk", "hukou_person", ["RKBM", "XM", "CSRQ"], tmp_path / "o.parquet", schema=schema)
        assert landed.rows == 2 and len(landed.sha256) == 64
        import pyarrow.parquet as pq

        t = pq.read_table(landed.files[0]).to_pylist()
        assert t[0]["CSRQ"] == "1990-01-02" and t[0]["_source_line"] == 1 and t[1]["XM"] is None
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_purge_removes_expired_rows(settings, city):
    ingest_city(settings, city[0], progress=False, datasets=["door_access", "lodging"])
    from zhijing.governance.retention import purge

    before = current_manifest(settings, "clean", "door_access").rows
    report = {r["dataset"]: r for r in purge(settings, as_of=datetime(2024, 9, 3, tzinfo=UTC))}
    removed = report["door_access"]["removed"]
    assert 0 < removed["clean"] < before and removed["raw"] == removed["clean"]
    assert current_manifest(settings, "clean", "door_access").rows == before - removed["clean"]
    assert report["lodging"]["removed"]["clean"] == 0
    from zhijing.governance.catalog import engine, purges

    with engine(settings).connect() as conn:
        assert conn.execute(sa.select(purges)).first() is not None


def test_quarantine_rows_are_masked_below_clearance(ingested, make_api):
    from zhijing.access.seed import DEMO_CASE, add_purpose
    from zhijing.config import get_settings

    client = make_api(ingested[0].home)
    add_purpose(get_settings(), "case:LOW", "低密级案件", "330200000000", ["paichusuo01"])
    low = client.get("/api/quarantine/lodging", headers=client.headers("paichusuo01", "case:LOW")).json()["rows"]
    high = client.get("/api/quarantine/lodging", headers=client.headers("xingzhen01", DEMO_CASE)).json()["rows"]
    assert low and all(r["raw"] == "***" for r in low if r["raw"])  # clearance 1: raw content hidden
    assert any(r["raw"] not in (None, "***") for r in high)  # clearance 2 sees the sensitive raw text
