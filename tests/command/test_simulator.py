"""The simulator (zhijing/command/simulator.py) drives an assigned unit along its route on the
streets: a simulated unit accepts after its turnout, moves node by node, arrives when its
true drive ends and clears after its time on scene; a unit with a human moves but waits for
the phone; an idle simulated unit keeps reporting so it never goes stale."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from zhijing.command import simulator
from zhijing.command.roads import StreetCache, metres
from zhijing.command.simulator import Params, Simulator, drive
from zhijing.errors import ZhijingError


class FakeSink:
    """The store's part the simulator uses, in memory: steps move assignments as core's do."""

    NEXT = {"accept": ("dispatched", "en_route"), "arrive": ("en_route", "on_scene"), "clear": ("on_scene", "cleared")}
    STATUS = {"accept": "en_route", "arrive": "on_scene", "clear": "available"}

    def __init__(self, units: list[dict], assignments: list[dict]):
        self.unit = {u["id"]: u for u in units}
        self.assignment = {a["id"]: a for a in assignments}
        self.moves: list[tuple[str, float, float, str, int]] = []  # unit, lon, lat, node, steps taken before
        self.steps: list[tuple[object, str]] = []

    def units(self):
        return [dict(u) for u in self.unit.values()]

    def open_assignments(self):
        return [dict(a) for a in self.assignment.values() if a["state"] in ("dispatched", "en_route", "on_scene")]

    def advance(self, assignment_id, step):
        a = self.assignment[assignment_id]
        was, now = self.NEXT[step]
        assert a["state"] == was, (step, a["state"])
        a["state"] = now
        self.unit[a["unit"]]["status"] = self.STATUS[step]
        self.steps.append((assignment_id, step))

    def move(self, unit_id, lon, lat, node):
        self.unit[unit_id].update(lon=lon, lat=lat, node=node)
        self.moves.append((unit_id, lon, lat, node, len(self.steps)))


@pytest.fixture(scope="module")
def city(streets_home):
    cache = StreetCache()
    return streets_home, cache, cache.get(streets_home)


def run(sim: Simulator, sink: FakeSink, until: float, every: float = 5.0, settle: bool = False) -> list[float]:
    """Step the simulator every ``every`` simulated seconds (``settle``: only until nothing is
    left to do); the times each step was taken."""
    times, idle = [], 0
    for t in np.arange(0.0, until, every):
        before = len(sink.steps)
        sim.step(float(t))
        times += [float(t)] * (len(sink.steps) - before)
        idle = idle + 1 if not sim.trips and not sink.open_assignments() else 0
        if settle and idle == 2:  # a cleared unit sets off home the step after
            break
    return times


def test_a_simulated_unit_accepts_drives_its_route_arrives_clears_and_drives_back(city):
    settings, cache, g = city
    start, target = 0, len(g) // 2
    sink = FakeSink([{"id": "U1", "status": "assigned", "lon": g.lon[start], "lat": g.lat[start], "node": g.ids[start]}],
                    [{"id": 1, "unit": "U1", "state": "dispatched", "incident": {"id": "JQ1", "lon": g.lon[target], "lat": g.lat[target]}}])  # fmt: skip
    params = Params(turnout_s=(30, 30), on_scene_s=(600, 600), seed=3)
    sim = Simulator(settings, sink, cache, params, hour=lambda: 3)
    times = run(sim, sink, 30_000, settle=True)
    assert [s for _, s in sink.steps] == ["accept", "arrive", "clear"]
    accept, arrive, clear = times
    route = g.route(start, target)
    true = drive(g, route, 3, np.random.default_rng(3))  # not the same draws: the scale only
    nominal = g.seconds_to(target, [start])[start]
    assert accept == 30.0 and clear - arrive == pytest.approx(600, abs=5)
    assert nominal < arrive - accept < 2.5 * nominal and 0.4 * true[-1] < arrive - accept < 2.5 * true[-1]  # night: near the limit
    moves = [m for m in sink.moves if m[0] == "U1" and m[4] < 3]  # to the scene
    assert moves[-1][3] == g.ids[target]  # ends on the incident's street node
    on_route = {g.ids[v] for v in route}
    assert {m[3] for m in moves} <= on_route  # every report names a node of its route, in order
    order = [route.index(g.node(m[3])) for m in moves]
    assert order == sorted(order) and len(set(order)) > len(route) // 2
    assert sink.moves[-1][3] == g.ids[start] and sink.moves[-1][4] == 3  # cleared, it drove back to its post
    assert len(sink.moves) - len(moves) > len(route) // 2
    for _, lon, lat, node, _ in moves:  # and lies on the street from that node to the next
        i = route.index(g.node(node))
        nxt = route[min(i + 1, len(route) - 1)]
        seg = float(metres(g.lon[route[i]], g.lat[route[i]], g.lon[nxt], g.lat[nxt]))
        assert float(metres(g.lon[route[i]], g.lat[route[i]], lon, lat)) <= seg + 1


def test_a_foot_patrol_walks_to_the_call(city):
    settings, cache, g = city
    start, target = 100, 140
    sink = FakeSink([{"id": "F1", "kind": "foot", "status": "assigned", "lon": g.lon[start], "lat": g.lat[start], "node": g.ids[start]}],
                    [{"id": 5, "unit": "F1", "state": "dispatched", "incident": {"id": "JQ5", "lon": g.lon[target], "lat": g.lat[target]}}])  # fmt: skip
    sim = Simulator(settings, sink, cache, Params(turnout_s=(10, 10), on_scene_s=(60, 60)), hour=lambda: 8)
    accept, arrive, _ = run(sim, sink, 40_000, every=10, settle=True)
    walk = g.seconds_to(target, [start], mode="walk")[start]
    assert 0.7 * walk < arrive - accept < 1.4 * walk and walk > 2 * g.seconds_to(target, [start])[start]
    assert {m[3] for m in sink.moves if m[4] < 3} <= {g.ids[v] for v in g.route(start, target, mode="walk")}


def test_rush_hour_is_slower_than_night_on_the_same_route(city):
    _, _, g = city
    route = g.route(0, len(g) // 2)
    rng = np.random.default_rng(1)
    rush = np.median([drive(g, route, 8, rng)[-1] for _ in range(30)])
    night = np.median([drive(g, route, 3, rng)[-1] for _ in range(30)])
    assert rush > 1.2 * night


def test_a_unit_with_a_human_moves_but_the_phone_takes_the_steps(city):
    settings, cache, g = city
    a, b = 10, len(g) // 3
    sink = FakeSink([{"id": "P1", "status": "assigned", "username": "xunluo01", "lon": g.lon[a], "lat": g.lat[a], "node": g.ids[a]}],
                    [{"id": 7, "unit": "P1", "state": "dispatched", "incident": {"id": "JQ7", "lon": g.lon[b], "lat": g.lat[b]}}])  # fmt: skip
    sim = Simulator(settings, sink, cache, Params(turnout_s=(1, 1)), hour=lambda: 12)
    run(sim, sink, 600)
    assert sink.steps == [] and sink.moves == []  # no accept on the officer's behalf
    sink.assignment[7]["state"] = "en_route"  # the phone accepts
    run(sim, sink, 30_000, every=20)
    assert sink.steps == [] and sink.moves[-1][3] == g.ids[b]  # drove there; arriving is the phone's


def test_idle_units_report_and_a_cancelled_trip_stops(city):
    settings, cache, g = city
    wall = datetime.now(UTC)
    sink = FakeSink([{"id": "I1", "status": "available", "lon": 121.5, "lat": 29.8, "node": None},
                     {"id": "FRESH", "status": "available", "lon": 121.5, "lat": 29.8, "last_seen": wall},
                     {"id": "OLD", "status": "available", "lon": 121.5, "lat": 29.8, "last_seen": wall - timedelta(minutes=6)},
                     {"id": "OFF", "status": "off", "lon": 121.5, "lat": 29.8},
                     {"id": "U2", "status": "assigned", "lon": g.lon[0], "lat": g.lat[0], "node": g.ids[0]}],
                    [{"id": 2, "unit": "U2", "state": "en_route", "incident": {"id": "JQ2", "lon": g.lon[-1], "lat": g.lat[-1]}}])  # fmt: skip
    sim = Simulator(settings, sink, cache, hour=lambda: 12)
    run(sim, sink, 60)
    assert "U2" in sim.trips
    sink.assignment[2]["state"] = "cancelled"
    run(sim, sink, 60 * settings.dispatch.stale_minutes)
    assert "U2" not in sim.trips
    heartbeats = Counter(m[0] for m in sink.moves)
    assert heartbeats["I1"] == heartbeats["OLD"] == 2  # every half staleness window: at 0 and at the half
    assert heartbeats["FRESH"] == heartbeats["OFF"] == 0  # heard from a moment ago; off duty


def test_start_runs_one_daemon_thread_per_app_and_one_per_home(tmp_path):
    from zhijing.config import Settings

    settings = Settings(home=tmp_path / "home")  # a lake without streets: the thread idles

    class State:
        pass

    state, other, sink = State(), State(), FakeSink([], [])
    running = simulator.start(settings, state, sink, Params(tick_s=0.05))
    try:
        assert running.thread.daemon and simulator.start(settings, state, sink) is running
        assert simulator.start(settings, other, sink) is None  # a second web worker of the same home
    finally:
        running.stop()
    assert not running.thread.is_alive()
    again = simulator.start(settings, other, sink)  # the lock was released
    assert again is not None
    again.stop()


def test_a_refused_step_or_an_unlocated_call_stops_nothing_else(city):
    settings, cache, g = city

    class Refusing(FakeSink):
        def advance(self, assignment_id, step):
            if assignment_id == 1:
                raise ZhijingError("派警1已撤回（cancelled）")  # the store's Conflict
            super().advance(assignment_id, step)

    far = len(g) // 4
    sink = Refusing([{"id": f"U{i}", "status": "assigned", "lon": g.lon[i], "lat": g.lat[i], "node": g.ids[i]} for i in (1, 2, 3)]
                    + [{"id": "U4", "status": "assigned", "lon": None, "lat": None, "node": None}],
                    [{"id": 1, "unit": "U1", "state": "dispatched", "incident": {"id": "JQ1", "lon": g.lon[far], "lat": g.lat[far]}},
                     {"id": 2, "unit": "U2", "state": "en_route", "incident": {"id": "JQ2", "lon": None, "lat": None}},
                     {"id": 3, "unit": "U3", "state": "dispatched", "incident": {"id": "JQ3", "lon": g.lon[far], "lat": g.lat[far]}},
                     {"id": 4, "unit": "U4", "state": "en_route", "incident": {"id": "JQ4", "lon": g.lon[far], "lat": g.lat[far]}}])  # fmt: skip
    sim = Simulator(settings, sink, cache, Params(turnout_s=(10, 10), on_scene_s=(60, 60)), hour=lambda: 12)
    run(sim, sink, 20_000, every=20)
    assert sink.steps == [(3, "accept"), (3, "arrive"), (3, "clear")]
    assert {m[0] for m in sink.moves} == {"U3"}  # the unlocated call and the unit nowhere moved nothing


def test_through_the_store_a_recommended_unit_is_driven_to_the_call_and_back(city, tmp_path):
    """Core's store as the sink: the recommended unit's steps are timestamps in order, its
    drive is ``unit.moved`` events on the live bus, and it ends back at its station."""
    from zhijing.command import store
    from zhijing.command.adapters import StoreSink
    from zhijing.command.recommend import recommend

    streets_home, cache, g = city
    s = streets_home.model_copy(update={"metadata_url": f"sqlite:///{tmp_path / 'metadata.db'}"})
    assert store.seed_units(s) > 0
    post = {u["id"]: u["node"] for u in store.units(s)}
    far = g.node(next(iter(post.values())))
    target = max(g.routes_to(far, list(range(0, len(g), 97))).items(), key=lambda kv: len(kv[1]))[0]  # a call far from a post
    inc = store.create_incident(s, {"narrative": "有人打架", "lon": float(g.lon[target]), "lat": float(g.lat[target]),
                                    "located": "coords", "priority": 1}, "api", "tester")  # fmt: skip
    rec = recommend(s, inc["lon"], inc["lat"], store.units(s), k=3, streets=cache)
    assert rec and rec[0]["flag"] is None
    a = store.assign(s, inc["id"], rec[0]["unit"], "zhihui01")
    seq = max([e["seq"] for e in store.events_since(s, 0, limit=100_000)], default=0)
    sim = Simulator(s, StoreSink(s), cache, Params(turnout_s=(5, 5), on_scene_s=(60, 60)), hour=lambda: 14)
    cleared_at = None
    for t in np.arange(0.0, 40_000, 30.0):
        sim.step(float(t))
        if cleared_at is None and store.assignment(s, a["id"])["state"] == "cleared":
            cleared_at = t
        elif cleared_at is not None and rec[0]["unit"] not in sim.trips:  # the step after clearing starts the drive back
            break
    done = store.assignment(s, a["id"])
    assert done["state"] == "cleared"
    assert done["dispatched_at"] <= done["en_route_at"] <= done["on_scene_at"] <= done["cleared_at"]
    moved = [e for e in store.events_since(s, seq, limit=100_000) if e["kind"] == "unit.moved" and e["unit"] == rec[0]["unit"]]
    assert str(g.ids[target]) in {str(e["body"]["node"]) for e in moved} and len(moved) >= 3  # there and back
    unit = store.unit(s, rec[0]["unit"])
    assert unit["status"] == "available" and str(unit["node"]) == str(post[rec[0]["unit"]])  # back at its station
