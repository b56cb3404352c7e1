"""The serving store: the same answers from SQLite and PostgreSQL, a failed build leaves the
live store in place, requests cannot write it, and search text is never a pattern."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from zhijing.serving import person_file, store
from zhijing.serving.build import build

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _some_masters(settings, n: int = 8) -> list[dict]:
    with store.connect(settings) as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT master_id, name, citizen_id, phone FROM persons "
                                                      "WHERE citizen_id IS NOT NULL ORDER BY mentions DESC LIMIT :n"), {"n": n}).mappings()]  # fmt: skip


@pytest.mark.postgres
def test_sqlite_and_postgresql_serve_the_same_answers(resolved_city):
    settings = resolved_city[0]
    try:
        sa.create_engine(PG).connect().close()
    except sa.exc.OperationalError:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (user postgres, db test)")
    pg = settings.model_copy(update={"serving_url": PG, "serving_schema": f"serving_t{uuid.uuid4().hex[:8]}"})
    try:
        counts = build(pg)
        assert counts["persons"] > 1000
        build(pg)  # a second build switches in over the first
        for m in _some_masters(settings):
            assert person_file.person_file(pg, m["master_id"]) == person_file.person_file(settings, m["master_id"])
            for q in (m["citizen_id"], m["name"], m["name"][:1] + "某", m["phone"] or "13000000000"):
                assert person_file.search(pg, q) == person_file.search(settings, q)
    finally:
        with sa.create_engine(PG).begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{pg.serving_schema}" CASCADE')


def test_a_failed_build_leaves_the_live_store(resolved_city, monkeypatch):
    settings = resolved_city[0]
    live = settings.state_dir / "serving.db"
    before = live.stat()
    from zhijing.serving import build as build_mod

    def broken(lake):
        return {"persons": "SELECT master_id FROM no_such_table"}

    monkeypatch.setattr(build_mod, "_queries", broken)
    with pytest.raises(Exception, match="no_such_table"):
        build(settings)
    after = live.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not list(settings.state_dir.glob("serving-*.building"))
    assert _some_masters(settings)


def test_requests_cannot_write_the_store(resolved_city):
    with store.connect(resolved_city[0]) as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.execute(sa.text("DELETE FROM persons"))


def test_search_text_is_never_a_pattern(resolved_city):
    settings = resolved_city[0]
    assert person_file.search(settings, "%%") == [] and person_file.search(settings, "__") == []
    assert person_file.search(settings, "%") == [] and person_file.search(settings, "' OR 1=1 --") == []
    m = _some_masters(settings, 1)[0]
    assert [r["master_id"] for r in person_file.search(settings, m["citizen_id"].lower())][:1] == [m["master_id"]]


def test_places_put_people_where_records_do(resolved_city):
    """Every person with a hukou record is placed at the station of its standard address; a hotel
    stay and a door card place them too (``via`` names the model type that placed them)."""
    settings = resolved_city[0]
    with store.connect(settings) as conn:
        vias = dict(conn.execute(sa.text("SELECT via, count(*) FROM person_places GROUP BY via")).all())
    assert vias.get("residence", 0) > 1000 and vias.get("stay", 0) > 100 and vias.get("access", 0) > 100
