"""Recommendation by travel time on the street graph (zhijing/command/roads.py, recommend.py):
scored against the simulator's true drive beside the straight-line choice, and its bad input
(stale and busy units, a call off the streets, a unit that cannot reach it, a lake without streets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from zhijing.command.recommend import MAX_SNAP_M, recommend
from zhijing.command.roads import StreetCache, metres
from zhijing.command.simulator import drive
from zhijing.config import Settings
from zhijing.lake.store import publish
from zhijing.model import places

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def cache(streets_home) -> StreetCache:
    return StreetCache()


@pytest.fixture(scope="module")
def streets(streets_home, cache):
    return cache.get(streets_home)


def fleet(streets, n: int, rng, **extra) -> list[dict]:
    """``n`` fresh available units on random street nodes."""
    picks = rng.choice(len(streets), n, replace=False)
    return [{"id": f"U{i:03d}", "callsign": f"巡{i}", "status": "available", "last_seen": NOW - timedelta(minutes=1),
             "lon": float(streets.lon[v]), "lat": float(streets.lat[v]), "node": streets.ids[v], **extra}
            for i, v in enumerate(picks)]  # fmt: skip


def calls_on_streets(streets, n: int, rng) -> list[tuple[float, float]]:
    """``n`` points along random streets (where 110 calls are), a few metres off the centre line."""
    legs = list(streets.edges)
    out = []
    for k in rng.choice(len(legs), n, replace=False):
        a, b = legs[k]
        t = rng.uniform(0.1, 0.9)
        out.append((streets.lon[a] + t * (streets.lon[b] - streets.lon[a]) + rng.normal(0, 1e-4),
                    streets.lat[a] + t * (streets.lat[b] - streets.lat[a]) + rng.normal(0, 1e-4)))  # fmt: skip
    return out


def test_the_graph_reads_the_geography_roles(streets_home, streets):
    con = duckdb.connect()
    n_nodes = con.execute(f"SELECT count(DISTINCT node_id) FROM {places.source(streets_home, 'road_node')}").fetchone()[0]
    n_segs = con.execute(f"SELECT count(*) FROM {places.source(streets_home, 'road')}").fetchone()[0]
    assert len(streets) == n_nodes and n_segs > 1000
    assert streets.graph.numberOfEdges() == streets.reverse.numberOfEdges() >= n_segs  # both ways, parallel streets merged
    u, v = next(iter(streets.edges))
    length, kmh, _ = streets.leg(u, v)
    assert streets.graph.weight(u, v) == pytest.approx(length / (kmh / 3.6))


def test_the_cache_builds_once_per_lake_version(streets_home, cache, streets, small_city, tmp_path):
    assert cache.get(streets_home) is streets  # same files: the same graph object
    other = Settings(home=tmp_path / "home")
    assert cache.get(other) is None  # another lake (no streets) is another key ...
    assert cache.get(streets_home) is not streets  # ... and coming back rebuilds the one version held


def test_recommendation_beats_straight_line_on_the_simulated_drive(streets_home, cache, streets):
    """200 calls on the city's streets, 60 units on random nodes, a random hour each: the share
    of calls where the first unit recommended is the truly fastest by the simulator's drive,
    beside the share where the straight-line nearest unit is."""
    rng = np.random.default_rng(20)
    units = fleet(streets, 60, rng)
    nodes = [streets.node(u["node"]) for u in units]
    ours = straight = both = 0
    calls = calls_on_streets(streets, 200, rng)
    for lon, lat in calls:
        rec = recommend(streets_home, lon, lat, units, k=len(units), streets=cache, now=NOW)
        assert [r["rank"] for r in rec] == list(range(1, len(units) + 1)) and all(r["flag"] is None for r in rec)
        target = streets.nearest(lon, lat)[0]
        routes = streets.routes_to(target, nodes)
        hour = int(rng.integers(0, 24))
        true = {u["id"]: drive(streets, routes[v], hour, rng)[-1] for u, v in zip(units, nodes, strict=True)}
        fastest = min(true, key=true.get)
        nearest = next(r["unit"] for r in rec if r["straight_rank"] == 1)
        ours += rec[0]["unit"] == fastest
        straight += nearest == fastest
        both += rec[0]["unit"] == nearest
    share, share_straight = ours / len(calls), straight / len(calls)
    print(f"\ntrue fastest unit by simulated drive: recommended {share:.1%}, straight-line {share_straight:.1%} "
          f"(they agree on {both / len(calls):.1%} of {len(calls)} calls)")  # fmt: skip
    assert share >= share_straight + 0.05
    assert share >= 0.6


def test_travel_times_are_the_route_times_and_straight_ranks_are_right(streets_home, cache, streets):
    rng = np.random.default_rng(3)
    units = fleet(streets, 25, rng)
    lon, lat = calls_on_streets(streets, 1, rng)[0]
    rec = recommend(streets_home, lon, lat, units, k=25, streets=cache, now=NOW)
    target = streets.nearest(lon, lat)[0]
    by_id = {u["id"]: u for u in units}
    for r in rec:
        route = streets.route(streets.node(by_id[r["unit"]]["node"]), target)
        nominal = sum(streets.leg(a, b)[0] / (streets.leg(a, b)[1] / 3.6) for a, b in zip(route[:-1], route[1:], strict=True))
        assert r["travel_s"] == pytest.approx(nominal, abs=0.1)
        assert r["straight_m"] == pytest.approx(float(metres(by_id[r["unit"]]["lon"], by_id[r["unit"]]["lat"], lon, lat)), abs=0.1)
    assert sorted(r["travel_s"] for r in rec) == [r["travel_s"] for r in rec]
    assert sorted(r["straight_rank"] for r in rec) == list(range(1, 26))
    assert [r["unit"] for r in sorted(rec, key=lambda r: r["straight_m"])] == [r["unit"] for r in sorted(rec, key=lambda r: r["straight_rank"])]


def test_stale_and_busy_units_are_never_recommended(streets_home, cache, streets):
    """For 50 calls the three fastest units are made busy, silent past the staleness window or
    never heard from: none is ever recommended, and the first one is the fastest of the rest."""
    rng = np.random.default_rng(5)
    minutes = streets_home.dispatch.stale_minutes
    for lon, lat in calls_on_streets(streets, 50, rng):
        units = fleet(streets, 30, rng)
        best = recommend(streets_home, lon, lat, units, k=30, streets=cache, now=NOW)
        excluded = {r["unit"] for r in best[:4]}
        spoil = [{"status": str(rng.choice(["assigned", "en_route", "on_scene", "off"]))},
                 {"last_seen": NOW - timedelta(minutes=minutes, seconds=1)}, {"last_seen": None},
                 {"status": "available", "last_seen": (NOW - timedelta(hours=2)).replace(tzinfo=None).isoformat()}]  # fmt: skip
        for u in units:
            if u["id"] in excluded:
                u.update(spoil.pop())
        rec = recommend(streets_home, lon, lat, units, k=3, streets=cache, now=NOW)
        assert not {r["unit"] for r in rec} & excluded
        assert rec[0]["unit"] == best[4]["unit"]
    edge = fleet(streets, 1, rng, last_seen=(NOW - timedelta(minutes=minutes) + timedelta(seconds=1)).isoformat())
    assert [r["unit"] for r in recommend(streets_home, lon, lat, edge, streets=cache, now=NOW)] == ["U000"]


@pytest.fixture(scope="module")
def island(streets_home, tmp_path_factory) -> tuple[Settings, list[str]]:
    """The city's streets plus an island 40 km out at sea whose streets join nothing, and bad
    rows: a segment without speed or length, one whose end is no known node."""
    s = Settings(home=tmp_path_factory.mktemp("island") / "home")
    con = duckdb.connect()
    nodes = con.sql(f"SELECT CAST(node_id AS VARCHAR) AS node_id, lon, lat FROM {places.source(streets_home, 'road_node')}").to_arrow_table()
    segs = con.sql(f"SELECT segment_id, CAST(from_node AS VARCHAR) AS from_node, CAST(to_node AS VARCHAR) AS to_node, road_class, "
                   f"CAST(speed_kmh AS DOUBLE) AS speed_kmh, CAST(length_m AS DOUBLE) AS length_m FROM {places.source(streets_home, 'road')}").to_arrow_table()  # fmt: skip
    ids = ["岛1", "岛2", "岛3"]
    extra_nodes = pa.table({"node_id": ids, "lon": [122.40, 122.41, 122.42], "lat": [29.90, 29.90, 29.91]})
    extra_segs = pa.table({"segment_id": [90_001, 90_002, 90_003], "from_node": [ids[0], ids[1], ids[0]],
                           "to_node": [ids[1], ids[2], "nowhere"], "road_class": ["支路", "支路", "支路"],
                           "speed_kmh": [30, None, 30], "length_m": [None, 1200.0, 50.0]})  # fmt: skip
    publish(s, "clean", places.dataset(s, "road_node"), pa.concat_tables([nodes, extra_nodes.cast(nodes.schema)]), mode="replace")
    publish(s, "clean", places.dataset(s, "road"), pa.concat_tables([segs, extra_segs.cast(segs.schema)]), mode="replace")
    return s, ids


def test_a_unit_on_a_street_that_joins_nothing_is_flagged_not_lost(island):
    island_home, ids = island
    cache = StreetCache()
    g = cache.get(island_home)
    a, b = g.node(ids[0]), g.node(ids[1])
    assert g.leg(a, b)[0] == pytest.approx(float(metres(g.lon[a], g.lat[a], g.lon[b], g.lat[b])), rel=1e-6)  # measured
    assert g.leg(b, g.node(ids[2]))[1] == 30.0  # no speed: driven as a side street
    rng = np.random.default_rng(9)
    units = fleet(g, 5, rng) + [{"id": "ISLAND", "status": "available", "last_seen": NOW, "lon": 122.41, "lat": 29.90,
                                 "node": ids[1]}]  # fmt: skip
    lon, lat = calls_on_streets(g, 1, rng)[0]
    rec = recommend(island_home, lon, lat, units, k=6, streets=cache, now=NOW)
    assert [r["flag"] for r in rec] == [None] * 5 + ["unreachable"]
    assert rec[-1]["unit"] == "ISLAND" and rec[-1]["travel_s"] is None and rec[-1]["straight_m"] > 20_000
    on_island = recommend(island_home, 122.415, 29.905, units, k=6, streets=cache, now=NOW)  # a call on the island
    assert on_island[0]["unit"] == "ISLAND" and on_island[0]["flag"] is None
    assert {r["flag"] for r in on_island[1:]} == {"unreachable"}
    assert [r["straight_rank"] for r in on_island[1:]] == sorted(r["straight_rank"] for r in on_island[1:])


def test_a_call_off_the_streets_is_answered_by_straight_line_with_a_flag(streets_home, cache, streets):
    rng = np.random.default_rng(11)
    units = fleet(streets, 10, rng)
    lon, lat = 124.0, 29.5  # the East China Sea
    assert streets.nearest(lon, lat)[1] > MAX_SNAP_M
    rec = recommend(streets_home, lon, lat, units, k=3, streets=cache, now=NOW)
    assert [r["flag"] for r in rec] == ["off_streets"] * 3 and all(r["travel_s"] is None for r in rec)
    assert [r["straight_rank"] for r in rec] == [1, 2, 3]
    unplaced = units[:2] + [{"id": "NOWHERE", "status": "available", "last_seen": NOW, "lon": None, "lat": None}]
    assert "NOWHERE" not in {r["unit"] for r in recommend(streets_home, 121.5, 29.8, unplaced, streets=cache, now=NOW)}


def test_a_lake_without_streets_answers_by_straight_line(tmp_path):
    s = Settings(home=tmp_path / "home")
    units = [{"id": f"U{i}", "status": "available", "last_seen": NOW, "lon": 121.5 + i / 100, "lat": 29.8} for i in range(4)]
    rec = recommend(s, 121.5, 29.8, units, k=2, streets=StreetCache(), now=NOW)
    assert [(r["unit"], r["flag"]) for r in rec] == [("U0", "no_streets"), ("U1", "no_streets")]
    assert recommend(s, 121.5, 29.8, [], streets=StreetCache(), now=NOW) == []
    assert recommend(s, None, float("nan"), units, streets=StreetCache(), now=NOW) == []  # an unlocated call


def test_streets_declared_without_speeds_route_and_without_ends_fall_back(tmp_path, caplog):
    """A deployment's road role with only the segment ends routes at the side-street speed on
    measured lengths; one without ``to_node`` is answered by straight line, the reason logged."""
    nodes = pa.table({"node_id": ["a", "b", "c"], "lon": [121.50, 121.51, 121.52], "lat": [29.80, 29.80, 29.80]})
    units = [{"id": f"U{k}", "status": "available", "last_seen": NOW, "lon": float(nodes["lon"][i].as_py()), "lat": 29.80,
              "node": k} for i, k in enumerate(["a", "c"])]  # fmt: skip
    bare = Settings(home=tmp_path / "bare")
    publish(bare, "clean", places.dataset(bare, "road_node"), nodes, mode="replace")
    publish(bare, "clean", places.dataset(bare, "road"), pa.table({"from_node": ["a", "b"], "to_node": ["b", "c"]}), mode="replace")
    rec = recommend(bare, 121.51, 29.80, units, k=2, streets=StreetCache(), now=NOW)
    legs = float(metres(121.50, 29.80, 121.51, 29.80))
    assert [r["flag"] for r in rec] == [None, None]
    assert rec[0]["travel_s"] == pytest.approx(legs / (30 / 3.6), abs=0.1)
    broken = Settings(home=tmp_path / "broken")
    publish(broken, "clean", places.dataset(broken, "road_node"), nodes, mode="replace")
    publish(broken, "clean", places.dataset(broken, "road"), pa.table({"from_node": ["a"], "end": ["b"]}), mode="replace")
    cache = StreetCache()
    for _ in range(2):
        rec = recommend(broken, 121.51, 29.80, units, k=2, streets=cache, now=NOW)
        assert [r["flag"] for r in rec] == ["no_streets", "no_streets"]
    assert [r.getMessage() for r in caplog.records if "road.to_node" in r.getMessage()] == [
        "no street graph for dispatch: the street graph needs column(s) road.to_node in the geography roles"]  # once


def test_a_foot_patrol_walks(streets_home, cache, streets):
    """A foot patrol's time is its shortest walk at 5 km/h, not a car's drive: a car two to
    four times nearer by time is sent first, one 1.5–3 times farther is not."""
    rng = np.random.default_rng(23)
    lon, lat = calls_on_streets(streets, 1, rng)[0]
    target = streets.nearest(lon, lat)[0]
    drive = streets.seconds_to(target, list(range(len(streets))))
    walk = streets.seconds_to(target, list(range(len(streets))), mode="walk")
    near = min((v for v in walk if 600 < walk[v] < 1200), key=walk.get)  # a 10–20 minute walk
    car = min((v for v in drive if walk[near] / 4 < drive[v] < walk[near] / 2), key=drive.get)
    units = [{"id": "步1", "kind": "foot", "status": "available", "last_seen": NOW, "lon": float(streets.lon[near]),
              "lat": float(streets.lat[near]), "node": streets.ids[near]},
             {"id": "巡1", "kind": "patrol_car", "status": "available", "last_seen": NOW, "lon": float(streets.lon[car]),
              "lat": float(streets.lat[car]), "node": streets.ids[car]}]  # fmt: skip
    rec = recommend(streets_home, lon, lat, units, k=2, streets=cache, now=NOW)
    assert [r["unit"] for r in rec] == ["巡1", "步1"]
    assert rec[1]["travel_s"] == pytest.approx(walk[near], abs=0.1) and walk[near] > drive[near]
    far = min((v for v in drive if 1.5 * walk[near] < drive[v] < 3 * walk[near]), key=drive.get)
    units[1].update(lon=float(streets.lon[far]), lat=float(streets.lat[far]), node=streets.ids[far])
    assert [r["unit"] for r in recommend(streets_home, lon, lat, units, k=2, streets=cache, now=NOW)] == ["步1", "巡1"]
    metres_walked = walk[near] / 3.6 * 5.0
    assert metres_walked <= sum(streets.metres(a, b) for a, b in zip(streets.route(near, target)[:-1], streets.route(near, target)[1:], strict=True)) + 0.1
