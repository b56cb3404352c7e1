"""Response metrics against a fixture computed by hand.

13 incidents in Asia/Shanghai (UTC+8 all year: no daylight saving), targets call processing 60 s,
turnout 60 s, travel 240 s, total response 360 s, held at the 90th percentile. Percentiles are
nearest-rank: the k-th smallest of n values with k = ceil(p/100 · n).

 #  received (local)   pri station unit: dispatched / en route / on scene (seconds after received)
 1  08:00              1   S1      U1: 30 / 60 / 300
 2  08:10              1   S1      U2: 45 / 100 / 400
 3  08:20              2   S1      U1: 60 / 90 / 250
 4  09:05 (naive UTC 01:05) 2 S2   U3: 20 / 50 / 200
 5  09:30              3   S2      U4: 90 / 200 / 500
 6  10:00              3   S2      never dispatched                        -> open
 7  10:15              1   S1      U2: 40 / 70 / never on scene (cancelled) -> no travel, no total
 8  11:00              1   S2      U3: 50 / 80 / reassigned; U4: 200 / 230 / 430 -> processing 50, total 430
 9  12:00              1   S1      U1: 30 / 40 / 340; U2: 35 / 45 / 245     -> total 245 (U2 first on scene)
10  23:58              2   S2      U3: 100 / 150 / 400 (en route 00:00:30, on scene 00:04:40 next day)
11  00:02 next day     2   S2      U4: 30 / 90 / 390 (16:02 UTC the day before: hour 0, not 16)
12  13:00              3   S1      U2: 40 / 30 / 330   -> turnout -10 s: clock skew, flagged
13  14:00              2   S1      U1: -15 / 20 / 200  -> processing -15 s flagged; turnout 35

call processing (11): 20 30 30 30 40 40 45 50 60 90 100  p50 k=6 40, p90 k=10 90, p95 k=11 100, ≤60: 9/11
turnout (13):  10 10 30 30 30 30 30 30 35 50 55 60 110  p50 k=7 30, p90 k=12 60, p95 k=13 110, ≤60: 12/13
travel (12):   150 160 180 200 200 240 250 300 300 300 300 300  p50 k=6 240, p90 k=11 300, p95 k=12 300, ≤240: 6/12
total (11):    200 200 245 250 300 330 390 400 400 430 500  p50 k=6 330, p90 k=10 430, p95 k=11 500, ≤360: 6/11
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhijing.command.kpi import metrics
from zhijing.config import DispatchSettings, Settings

S1, S2 = "33021201", "33021202"
U1, U2, U3, U4 = f"{S1}-巡1", f"{S1}-巡2", f"{S2}-巡1", f"{S2}-巡2"
DAY = "2026-12-07T{}:00+08:00"

# (incident, received, priority, station, state, [(unit, dispatched, en route, on scene)])
INCIDENTS = [
    (1, DAY.format("08:00"), 1, S1, "closed", [(U1, 30, 60, 300)]),
    (2, DAY.format("08:10"), 1, S1, "closed", [(U2, 45, 100, 400)]),
    (3, DAY.format("08:20"), 2, S1, "closed", [(U1, 60, 90, 250)]),
    (4, "2026-12-07 01:05:00", 2, S2, "closed", [(U3, 20, 50, 200)]),  # naive: UTC, as the store keeps it
    (5, DAY.format("09:30"), 3, S2, "closed", [(U4, 90, 200, 500)]),
    (6, DAY.format("10:00"), 3, S2, "received", []),
    (7, DAY.format("10:15"), 1, S1, "dispatched", [(U2, 40, 70, None)]),
    (8, DAY.format("11:00"), 1, S2, "closed", [(U3, 50, 80, None), (U4, 200, 230, 430)]),
    (9, DAY.format("12:00"), 1, S1, "closed", [(U1, 30, 40, 340), (U2, 35, 45, 245)]),
    (10, DAY.format("23:58"), 2, S2, "closed", [(U3, 100, 150, 400)]),
    (11, "2026-12-08T00:02:00+08:00", 2, S2, "closed", [(U4, 30, 90, 390)]),
    (12, DAY.format("13:00"), 3, S1, "closed", [(U2, 40, 30, 330)]),
    (13, DAY.format("14:00"), 2, S1, "closed", [(U1, -15, 20, 200)]),
]


def _at(base: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else base + timedelta(seconds=seconds)


def _rows() -> list[dict]:
    rows, seq = [], 0
    for n, received, priority, station, state, assignments in INCIDENTS:
        base = datetime.fromisoformat(received)
        incident = {"incident": f"JQ20261207{n:06d}", "received_at": received, "priority": priority, "station": station, "state": state}
        if not assignments:
            rows.append(incident)
        for unit, d, e, s in assignments:
            seq += 1
            rows.append({**incident, "assignment": seq, "unit": unit, "dispatched_at": _at(base, d), "en_route_at": _at(base, e), "on_scene_at": _at(base, s)})
    return rows


@pytest.fixture(scope="module")
def result() -> dict:
    targets = DispatchSettings(call_processing_s=60, turnout_s=60, travel_s=240, total_s=360, percentile=90)
    return metrics(_rows(), Settings(home="/nonexistent", timezone="Asia/Shanghai", dispatch=targets))


def _row(result: dict, by: str, key, metric: str) -> dict:
    [row] = [r for r in result["rows"] if r["by"] == by and r["key"] == key and r["metric"] == metric]
    return row


def _check(row: dict, n: int, p50: float, p90: float, p95: float, met: float) -> None:
    assert (row["n"], row["p50"], row["p90"], row["p95"]) == (n, p50, p90, p95)
    assert row["met"] == pytest.approx(met)


def test_overall_percentiles_and_target_shares(result):
    _check(_row(result, "all", None, "call_processing"), 11, 40, 90, 100, 9 / 11)
    _check(_row(result, "all", None, "turnout"), 13, 30, 60, 110, 12 / 13)
    _check(_row(result, "all", None, "travel"), 12, 240, 300, 300, 6 / 12)
    _check(_row(result, "all", None, "total_response"), 11, 330, 430, 500, 6 / 11)
    # held at the 90th percentile: 9/11 of calls processed within 60 s falls short
    assert _row(result, "all", None, "call_processing")["ok"] is False
    assert _row(result, "all", None, "turnout")["ok"] is True  # 12/13 = 0.92


def test_counts_open_and_flagged(result):
    assert result["counts"] == {"incidents": 13, "dispatched": 12, "on_scene": 11, "open": 1, "closed_without_dispatch": 0}
    flagged = {(f["incident"][-2:], f["metric"], f["seconds"]) for f in result["flagged"]}
    assert flagged == {("12", "turnout", -10.0), ("13", "call_processing", -15.0)}


def test_per_station(result):
    # S1 processing: 30 30 40 40 45 60 (13 flagged) -> p50 k=3 40, p90 k=6 60; all ≤ 60
    _check(_row(result, "station", S1, "call_processing"), 6, 40, 60, 60, 1.0)
    assert _row(result, "station", S1, "call_processing")["ok"] is True
    # S1 total: 200 245 250 300 330 400 -> p50 k=3 250, p90 k=6 400; ≤360: 5/6
    _check(_row(result, "station", S1, "total_response"), 6, 250, 400, 400, 5 / 6)
    # S2 total: 200 390 400 430 500 (6 open) -> p50 k=3 400, p90 k=5 500; ≤360: 1/5
    _check(_row(result, "station", S2, "total_response"), 5, 400, 500, 500, 1 / 5)


def test_per_unit_turnout_and_travel(result):
    # U1 travel 160 180 240 300 -> p50 k=2 180, p90 k=4 300; ≤240: 3/4
    _check(_row(result, "unit", U1, "travel"), 4, 180, 300, 300, 3 / 4)
    # U2 travel 200 300 300 (7: never on scene) -> p50 k=2 300; ≤240: 1/3
    _check(_row(result, "unit", U2, "travel"), 3, 300, 300, 300, 1 / 3)
    # U2 turnout 10 30 55 (12: skewed, left out)
    _check(_row(result, "unit", U2, "turnout"), 3, 30, 55, 55, 1.0)
    # U3 travel 150 250 (8: reassigned before arriving) -> p50 k=1 150, p90 k=2 250
    _check(_row(result, "unit", U3, "travel"), 2, 150, 250, 250, 1 / 2)
    # incident-level metrics have no unit
    assert not [r for r in result["rows"] if r["by"] == "unit" and r["metric"] in ("call_processing", "total_response")]


def test_per_priority_first_dispatched_and_first_on_scene(result):
    # P1 processing 30 30 40 45 50: incident 8 counts its first dispatch (50, not 200)
    _check(_row(result, "priority", 1, "call_processing"), 5, 40, 50, 50, 1.0)
    # P1 total 245 300 400 430: incident 9 counts U2 (245, first on scene), 8 counts U4 (430)
    _check(_row(result, "priority", 1, "total_response"), 4, 300, 430, 430, 2 / 4)


def test_per_hour_in_the_deployments_zone(result):
    hours = {r["key"] for r in result["rows"] if r["by"] == "hour"}
    assert hours == {0, 8, 9, 10, 11, 12, 13, 14, 23}  # never a UTC hour (1, 15, 16)
    _check(_row(result, "hour", 23, "total_response"), 1, 400, 400, 400, 0.0)  # across midnight
    _check(_row(result, "hour", 23, "travel"), 1, 250, 250, 250, 0.0)  # 00:00:30 → 00:04:40
    _check(_row(result, "hour", 0, "total_response"), 1, 390, 390, 390, 0.0)
    _check(_row(result, "hour", 8, "total_response"), 3, 300, 400, 400, 2 / 3)
    _check(_row(result, "hour", 9, "call_processing"), 2, 20, 90, 90, 1 / 2)  # 4 was naive UTC 01:05


def test_no_rows_and_only_open_calls():
    targets = DispatchSettings()
    settings = Settings(home="/nonexistent", dispatch=targets)
    empty = metrics([], settings)
    assert empty["rows"] == [] and empty["counts"]["incidents"] == 0
    waiting = metrics([{"incident": "JQ1", "received_at": DAY.format("08:00"), "priority": 1, "station": S1}], settings)
    assert waiting["rows"] == [] and waiting["counts"]["open"] == 1


def test_from_store_scopes_by_station_prefix_and_leaves_merged_calls_out(settings):
    """Read back from the command store: times stored as UTC come back in the zone's hour; a
    branch's prefix covers its stations; a merged duplicate carries no response of its own."""
    from zhijing.command import store
    from zhijing.command.kpi import from_store

    at = lambda text: datetime.fromisoformat(DAY.format(text)).astimezone(UTC)  # noqa: E731  (the store writes UTC)
    incident = {"source": "api", "state": "closed", "tier": "station", "version": 1, "priority": 1, "parent": None}
    with store.engine(settings).begin() as conn:
        conn.execute(store.incidents_t.insert(), [
            {**incident, "id": "JQ20261207000001", "received_at": at("08:00"), "station": S1},
            {**incident, "id": "JQ20261207000002", "received_at": at("08:01"), "station": S1, "parent": "JQ20261207000001"},
            {**incident, "id": "JQ20261207000003", "received_at": at("09:00"), "station": S2, "state": "received"},
        ])  # fmt: skip
        conn.execute(store.assignments_t.insert(), [
            {"incident": "JQ20261207000001", "unit": U1, "state": "cleared", "dispatched_at": at("08:00") + timedelta(seconds=30),
             "en_route_at": at("08:01"), "on_scene_at": at("08:05")},
        ])  # fmt: skip
    city = from_store(settings)
    assert city["counts"] == {"incidents": 2, "dispatched": 1, "on_scene": 1, "open": 1, "closed_without_dispatch": 0}
    _check(_row(city, "all", None, "total_response"), 1, 300, 300, 300, 1.0)
    _check(_row(city, "hour", 8, "travel"), 1, 240, 240, 240, 1.0)
    assert from_store(settings, station=S1[:6])["counts"]["incidents"] == 2  # the branch: both stations
    assert from_store(settings, station=S1)["counts"]["incidents"] == 1
    only_open = from_store(settings, station=S2)
    assert only_open["rows"] == [] and only_open["counts"]["open"] == 1
    assert from_store(settings, since=at("08:30"))["counts"]["incidents"] == 1
