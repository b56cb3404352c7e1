"""The dispatch store: units from the geography roles, the lifecycle with a time per step,
races settled by the database (two dispatchers, one unit: exactly one wins), closing
twice, a unit stepping another's assignment, escalation, duplicates, and the events log."""

from __future__ import annotations

import threading
from datetime import timedelta

import duckdb
import numpy as np
import pytest
import sqlalchemy as sa

from zhijing.access.seed import add_unit, add_user
from zhijing.command import store
from zhijing.config import Settings
from zhijing.errors import AccessDenied, Conflict, NotFound, ZhijingError
from zhijing.model import places


@pytest.fixture(scope="module")
def home(small_city, tmp_path_factory) -> Settings:
    """The small city's reference data (stations, units, streets) and its units seeded."""
    from zhijing.governance.ingest import ingest_reference

    s = Settings(home=tmp_path_factory.mktemp("dispatch") / "home")
    ingest_reference(s, small_city / "sources")
    add_unit(s, "330200000000", "市局", "市局")
    return s


@pytest.fixture(scope="module")
def seeded(home) -> dict:
    first = store.seed_units(home)
    again = store.seed_units(home)
    return {"first": first, "again": again, "units": store.units(home)}


def _call(lon: float, lat: float, station: str, category: str = "盗窃", **more) -> dict:
    return {"narrative": "我家被盗了", "lon": lon, "lat": lat, "station": station, "located": "coords", "category": category,
            "priority": 2, **more}  # fmt: skip


def _free_units(settings, n: int, station: str | None = None) -> list[dict]:
    free = [u for u in store.units(settings, station) if u["status"] == "available"]
    assert len(free) >= n
    return free[:n]


def test_each_station_gets_its_units_at_its_nearest_road_node(home, seeded):
    stations = duckdb.connect().execute(f"SELECT CAST(code AS VARCHAR), lon::DOUBLE, lat::DOUBLE FROM {places.source(home, 'station')}").fetchall()
    nodes = duckdb.connect().execute(f"SELECT CAST(node_id AS VARCHAR), lon::DOUBLE, lat::DOUBLE FROM {places.source(home, 'road_node')}").fetchall()
    ids, xy = [n[0] for n in nodes], np.array([(n[1], n[2]) for n in nodes])
    assert seeded["first"] == 4 * len(stations) and seeded["again"] == 0  # idempotent
    by_station: dict[str, list[dict]] = {}
    for u in seeded["units"]:
        by_station.setdefault(u["station"], []).append(u)
    for code, lon, lat in stations:
        kinds = sorted(u["kind"] for u in by_station[code])
        assert kinds == ["duty_team", "foot", "patrol_car", "patrol_car"], code
        d = ((xy[:, 0] - lon) * np.cos(np.radians(lat))) ** 2 + (xy[:, 1] - lat) ** 2
        assert {u["node"] for u in by_station[code]} == {ids[int(d.argmin())]}, code
        assert all(u["home_unit"].startswith(code) and u["id"].startswith(code) for u in by_station[code])


def test_a_call_goes_through_every_step_with_its_time(home, seeded):
    unit = _free_units(home, 1)[0]
    inc = store.create_incident(home, _call(unit["lon"], unit["lat"], unit["station"], received_at="2026-12-07T09:30:00"), "api", "zhihui01")
    assert inc["id"].startswith("JQ20261207") and len(inc["id"]) == 16 and inc["state"] == "received" and inc["tier"] == "station"
    a = store.assign(home, inc["id"], unit["id"], "zhihui01")
    assert a["state"] == "dispatched" and store.unit(home, unit["id"])["status"] == "assigned"
    seen = [("dispatched", "assigned", "dispatched")]
    for step, state, status in (("accept", "en_route", "en_route"), ("arrive", "on_scene", "on_scene"), ("clear", "cleared", "available")):
        a = store.advance(home, a["id"], step, "xunluo01", as_unit=unit["id"])
        seen.append((a["state"], store.unit(home, unit["id"])["status"], store.incident(home, inc["id"])["state"]))
        assert seen[-1] == (state, status, state)
    a = store.advance(home, a["id"], "feedback", "xunluo01", note="已处置，嫌疑人逃离", as_unit=unit["id"])
    times = [a[k] for k in ("dispatched_at", "en_route_at", "on_scene_at", "cleared_at", "feedback_at")]
    assert all(t is not None for t in times) and times == sorted(times) and a["feedback"] == "已处置，嫌疑人逃离"
    assert store.incident(home, inc["id"])["received_at"].isoformat() == "2026-12-07T01:30:00+00:00"  # a wall time in Beijing
    kinds = [e["kind"] for e in store.events_since(home, 0) if e["incident"] == inc["id"]]
    assert kinds[0] == "incident.new" and kinds.count("assignment.state") == 4 and "assignment.new" in kinds


def test_a_repeated_step_changes_nothing_and_a_skipped_one_is_refused(home, seeded):
    unit = _free_units(home, 1)[0]
    inc = store.create_incident(home, _call(unit["lon"], unit["lat"], unit["station"], category="纠纷"), "api", "zhihui01")
    a = store.assign(home, inc["id"], unit["id"], "zhihui01")
    with pytest.raises(Conflict, match="尚未"):
        store.advance(home, a["id"], "clear", "x", as_unit=unit["id"])
    with pytest.raises(Conflict, match="到场后"):
        store.advance(home, a["id"], "feedback", "x", note="n", as_unit=unit["id"])
    first = store.advance(home, a["id"], "accept", "x", as_unit=unit["id"])
    again = store.advance(home, a["id"], "accept", "x", as_unit=unit["id"])  # a phone retrying after a lost answer
    assert again["repeat"] and again["en_route_at"] == first["en_route_at"]
    with pytest.raises(ZhijingError):
        store.advance(home, a["id"], "teleport", "x")
    with pytest.raises(NotFound):
        store.advance(home, 10**9, "accept", "x")
    store.close(home, inc["id"], "zhihui01")


def _send(home, barrier, out: list, i: int, incident: str, unit: str) -> None:
    barrier.wait()
    try:
        out[i] = store.assign(home, incident, unit, f"dispatcher{i}")
    except Conflict as exc:
        out[i] = exc


def test_two_dispatchers_one_unit_exactly_one_wins(home, seeded):
    """20 rounds: two threads send the same unit to two incidents at the same moment."""
    for round_ in range(20):
        unit = _free_units(home, 1)[0]
        incs = [store.create_incident(home, _call(unit["lon"] + 0.05 * i, unit["lat"], unit["station"], category=f"c{round_}{i}"),
                                      "api", f"d{i}")["id"] for i in range(2)]  # fmt: skip
        barrier, out = threading.Barrier(2), [None, None]
        threads = [threading.Thread(target=_send, args=(home, barrier, out, i, incs[i], unit["id"])) for i in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        won = [i for i in range(2) if isinstance(out[i], dict)]
        assert len(won) == 1, out
        lost = out[1 - won[0]]
        assert isinstance(lost, Conflict) and f"dispatcher{won[0]}" in str(lost) and incs[won[0]] in str(lost)
        with store.engine(home).connect() as c:
            active = c.execute(sa.select(sa.func.count()).select_from(store.assignments_t).where(
                store.assignments_t.c.unit == unit["id"], store.assignments_t.c.state.in_(store.ACTIVE))).scalar()  # fmt: skip
        assert active == 1 and store.unit(home, unit["id"])["status"] == "assigned"
        for i in incs:
            store.close(home, i, "zhihui01")
        assert store.unit(home, unit["id"])["status"] == "available"  # closing withdrew the assignment


def test_closing_twice_is_a_conflict_and_closing_frees_the_units(home, seeded):
    unit = _free_units(home, 1)[0]
    inc = store.create_incident(home, _call(unit["lon"], unit["lat"], unit["station"], category="噪音"), "api", "zhihui01")
    a = store.assign(home, inc["id"], unit["id"], "zhihui01")
    closed = store.close(home, inc["id"], "zhihui01")
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert store.assignment(home, a["id"])["state"] == "cancelled" and store.unit(home, unit["id"])["status"] == "available"
    with pytest.raises(Conflict, match="已结案"):
        store.close(home, inc["id"], "zhihui02")
    with pytest.raises(Conflict):
        store.assign(home, inc["id"], unit["id"], "zhihui01")
    assert store.unit(home, unit["id"])["status"] == "available"  # the refused assignment took nothing
    with pytest.raises(NotFound):
        store.close(home, "JQ20261207999999", "zhihui01")


def test_a_unit_cannot_step_an_assignment_of_another(home, seeded):
    mine, other = _free_units(home, 2)
    inc = store.create_incident(home, _call(mine["lon"], mine["lat"], mine["station"], category="斗殴"), "api", "zhihui01")
    a = store.assign(home, inc["id"], mine["id"], "zhihui01")
    with pytest.raises(AccessDenied):
        store.advance(home, a["id"], "accept", "intruder", as_unit=other["id"])
    assert store.assignment(home, a["id"])["state"] == "dispatched" and store.assignment(home, a["id"])["en_route_at"] is None
    store.close(home, inc["id"], "zhihui01")


def test_reassignment_frees_the_first_unit(home, seeded):
    first, second = _free_units(home, 2)
    inc = store.create_incident(home, _call(first["lon"], first["lat"], first["station"], category="求助"), "api", "zhihui01")
    a = store.assign(home, inc["id"], first["id"], "zhihui01")
    b = store.assign(home, inc["id"], second["id"], "zhihui01", replaces=a["id"])
    assert store.assignment(home, a["id"])["state"] == "reassigned" and store.unit(home, first["id"])["status"] == "available"
    assert b["state"] == "dispatched" and store.incident(home, inc["id"])["state"] == "dispatched"
    with pytest.raises(Conflict):  # what it replaced is no longer active
        store.assign(home, inc["id"], first["id"], "zhihui01", replaces=a["id"])
    store.cancel(home, b["id"], "zhihui01")
    assert store.incident(home, inc["id"])["state"] == "received" and store.unit(home, second["id"])["status"] == "available"
    store.close(home, inc["id"], "zhihui01")


def test_escalation_climbs_the_three_tiers_then_stops(home, seeded):
    u = _free_units(home, 1)[0]
    inc = store.create_incident(home, _call(u["lon"], u["lat"], u["station"], category="火灾"), "api", "paichusuo01")
    assert [store.escalate(home, inc["id"], "x")["tier"] for _ in range(2)] == ["branch", "city"]
    with pytest.raises(Conflict):
        store.escalate(home, inc["id"], "x")
    unlocated = store.create_incident(home, {"narrative": "说不清在哪", "address": "某某路"}, "api", "zhihui01")
    assert unlocated["tier"] == "city" and unlocated["station"] is None and unlocated["located"] == "none"
    for i in (inc["id"], unlocated["id"]):
        store.close(home, i, "x")


def test_a_second_call_about_the_same_event_is_merged(home, seeded):
    u = _free_units(home, 1)[0]
    t0 = "2026-12-07T20:00:00"
    first = store.create_incident(home, _call(u["lon"], u["lat"], u["station"], category="交通事故", received_at=t0), "api", "a")
    near = store.create_incident(home, _call(u["lon"] + 0.0005, u["lat"], u["station"], category="交通事故",
                                             received_at="2026-12-07T20:03:00"), "replay", "a")  # fmt: skip
    far = store.create_incident(home, _call(u["lon"] + 0.1, u["lat"], u["station"], category="交通事故",
                                            received_at="2026-12-07T20:03:00"), "replay", "a")  # fmt: skip
    assert near["parent"] == first["id"] and far["parent"] is None
    open_ids = {i["id"] for i in store.incidents(home, open_only=True, limit=1000)["items"]}
    assert first["id"] in open_ids and near["id"] not in open_ids  # duplicates hang under their primary
    assert [d["id"] for d in store.incident(home, first["id"])["duplicates"]] == [near["id"]]
    assert [e["kind"] for e in store.events_since(home, 0) if e["incident"] == near["id"]] == ["incident.merged"]
    store.close(home, first["id"], "a")
    assert store.incident(home, near["id"])["state"] == "closed"  # closing the primary closes its duplicates
    store.close(home, far["id"], "a")


def test_bad_input_is_refused_in_one_line_or_kept_and_flagged(home, seeded):
    with pytest.raises(ZhijingError, match="source"):
        store.create_incident(home, {"narrative": "x"}, "fax", "a")
    with pytest.raises(ZhijingError, match="received_at"):
        store.create_incident(home, {"narrative": "x", "received_at": "yesterday-ish"}, "api", "a")
    odd = store.create_incident(home, {"narrative": "", "lon": float("nan"), "lat": 1e309, "priority": 99, "flag": "empty_text"},
                                "api", "a")  # fmt: skip
    assert odd["lon"] is None and odd["lat"] is None and odd["priority"] == 2 and odd["flag"] == "empty_text"
    store.close(home, odd["id"], "a")


def test_events_are_scoped_to_a_jurisdiction(home, seeded):
    a, b = sorted({u["station"] for u in seeded["units"]})[:2]
    ua, ub = (_free_units(home, 1, s)[0] for s in (a, b))
    since = store.last_seq(home)
    ia = store.create_incident(home, _call(ua["lon"], ua["lat"], a, category="s1"), "api", "x")
    ib = store.create_incident(home, _call(ub["lon"], ub["lat"], b, category="s2"), "api", "x")
    store.assign(home, ib["id"], ua["id"], "x")  # the city sends a's unit into b's jurisdiction
    seen_a = store.events_since(home, since, a)
    assert {e["incident"] for e in seen_a if e["kind"].startswith("incident.")} == {ia["id"]}
    assert any(e["kind"] == "assignment.new" and e["unit"] == ua["id"] for e in seen_a)  # its own unit's events
    assert all(e["station"] in (a, b) for e in store.events_since(home, since))
    assert {e["incident"] for e in store.events_since(home, since, b)} >= {ib["id"]}
    assert not any(e["incident"] == ia["id"] for e in store.events_since(home, since, b))
    for i in (ia, ib):
        store.close(home, i["id"], "x")


def test_units_go_stale_and_a_move_makes_them_seen(home, seeded):
    u = _free_units(home, 1)[0]
    with store.engine(home).begin() as c:
        c.execute(sa.update(store.units_t).where(store.units_t.c.id == u["id"]).values(last_seen=store._now() - timedelta(hours=1)))
    assert store.unit(home, u["id"])["stale"]
    store.move_unit(home, u["id"], u["lon"] + 0.001, u["lat"])
    assert not store.unit(home, u["id"])["stale"] and store.unit(home, u["id"])["lon"] == pytest.approx(u["lon"] + 0.001)


def test_a_stations_patrol_users_are_its_cars_phones(home, seeded):
    station = sorted({u["station"] for u in seeded["units"]})[0]
    add_unit(home, f"{station}0000", "派出所", "派出所", "330200000000")
    add_user(home, "xunluo77", "测试巡逻", f"{station}0000", store.PATROL_DEPARTMENT, "a-long-password-1")
    store.seed_units(home)
    mine = store.unit_of_user(home, "xunluo77")
    assert mine["id"] == f"{station}-巡1" and mine["kind"] == "patrol_car"
    assert store.unit_of_user(home, "nobody") is None


def test_the_simulator_drives_a_unit_through_the_store(home, seeded):
    """The routing helper's simulator on the store's sink: every step and move lands as events."""
    from zhijing.command.adapters import StoreSink
    from zhijing.command.roads import StreetCache
    from zhijing.command.simulator import Params, Simulator

    unit = next(u for u in _free_units(home, 5) if not u["username"])
    inc = store.create_incident(home, _call(unit["lon"] + 0.01, unit["lat"] + 0.005, unit["station"], category="sim"), "api", "x")
    a = store.assign(home, inc["id"], unit["id"], "x")
    since = store.last_seq(home)
    sim = Simulator(home, StoreSink(home), StreetCache(), Params(turnout_s=(0, 0), on_scene_s=(0, 0)), hour=lambda: 3)
    for t in (0.0, 1.0, 10.0, 1e6, 1e6 + 1, 1e6 + 2):
        sim.step(t)
    done = store.assignment(home, a["id"])
    assert done["state"] == "cleared" and all(done[k] for k in ("en_route_at", "on_scene_at", "cleared_at"))
    kinds = [e["kind"] for e in store.events_since(home, since) if e["unit"] == unit["id"]]
    assert "unit.moved" in kinds and kinds.count("assignment.state") == 3
    assert store.incident(home, inc["id"])["state"] == "cleared"
    store.close(home, inc["id"], "x")


def test_a_change_sqlite_found_locked_runs_again_and_other_errors_do_not():
    calls = []

    @store.retry_locked
    def change(fail: int, message: str = "database is locked") -> str:
        calls.append(1)
        if len(calls) <= fail:
            raise sa.exc.OperationalError("UPDATE cad_counters", {}, Exception(message))
        return "done"

    assert change(2) == "done" and len(calls) == 3
    calls.clear()
    with pytest.raises(sa.exc.OperationalError):
        change(1, "no such table: cad_counters")
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(sa.exc.OperationalError):
        change(99)
    assert len(calls) == store.LOCK_RETRIES
