"""The production router (PostgreSQL + PostGIS + pgRouting) gives networkit's answers on the
generated streets: the same nearest node, the same travel times, the same recommendation."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

from zhijing.command import pgrouting
from zhijing.command.recommend import recommend
from zhijing.command.roads import StreetCache

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SCHEMA = "routing_test"


@pytest.fixture(scope="module")
def pg(streets_home):
    """(networkit streets, pgRouting cache) over the same lake; skips with the reason when
    PostgreSQL or either extension is not there."""
    import os

    url = os.environ.get("ZHIJING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    why = pgrouting.available(sa.create_engine(url))
    if why:
        pytest.skip(why)
    cache = pgrouting.PgCache(url, SCHEMA)
    yield StreetCache().get(streets_home), cache
    with cache.engine.begin() as c:
        c.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))


def test_pgrouting_gives_networkits_driving_and_walking_times(streets_home, pg):
    nk_streets, cache = pg
    pg_streets = cache.get(streets_home)
    with cache.engine.connect() as c:
        assert c.execute(sa.text(f"SELECT count(*) FROM {SCHEMA}.road_nodes")).scalar() == len(nk_streets)
    rng = np.random.default_rng(17)
    sources = [int(v) for v in rng.choice(len(nk_streets), 40, replace=False)]
    compared = 0
    for target in rng.choice(len(nk_streets), 15, replace=False):
        for mode in ("drive", "walk"):
            ours = nk_streets.seconds_to(int(target), sources + [int(target)], mode)
            theirs = pg_streets.seconds_to(int(target), sources + [int(target)], mode)
            assert ours.keys() == theirs.keys()
            for v, t in ours.items():
                assert theirs[v] == pytest.approx(t, rel=1e-9, abs=1e-6)
            compared += len(ours)
    assert compared == 2 * 15 * 41


def test_pgrouting_finds_the_same_nearest_node_and_recommendation(streets_home, pg):
    nk_streets, cache = pg
    pg_streets = cache.get(streets_home)
    rng = np.random.default_rng(19)
    picks = rng.choice(len(nk_streets), 30, replace=False)
    units = [{"id": f"U{i}", "status": "available", "last_seen": NOW, "lon": float(nk_streets.lon[v]), "kind": ["patrol_car", "foot"][i % 2],
              "lat": float(nk_streets.lat[v]), "node": nk_streets.ids[v]} for i, v in enumerate(picks)]  # fmt: skip
    for _ in range(10):
        lon, lat = 121.2 + rng.uniform(0, 0.6), 29.7 + rng.uniform(0, 0.3)
        (a, da), (b, db) = nk_streets.nearest(lon, lat), pg_streets.nearest(lon, lat)
        assert da == pytest.approx(db, rel=0.01)  # equirectangular vs the sphere
        assert a == b or abs(da - db) < 5  # a near tie may fall either way
        ours = recommend(streets_home, lon, lat, units, k=5, streets=nk_streets, now=NOW)
        theirs = recommend(streets_home, lon, lat, units, k=5, streets=cache, now=NOW)
        if a == b:  # the same units in the same order, times equal up to the rounding to 0.1 s
            assert [(r["unit"], r["straight_rank"], r["flag"]) for r in ours] == [(r["unit"], r["straight_rank"], r["flag"]) for r in theirs]
            assert [r["travel_s"] for r in ours] == pytest.approx([r["travel_s"] for r in theirs], abs=0.11)
    assert cache.get(streets_home) is pg_streets  # the version is loaded once
