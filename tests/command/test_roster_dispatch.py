"""The duty roster decides who dispatch recommends (警队建设 → 指挥调度): a station without a
roster dispatches as before; once it keeps one, only the dispatch units an officer crews now
are recommended, and a cancelled shift takes its unit off again. The officer's workload counts
the incidents of the unit they crewed; rosters and training refuse bad input and callers
outside the unit's jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhijing.access.seed import duty_purpose
from zhijing.command import store

CITY = "330200000000"


@pytest.fixture(scope="module")
def app(small_city, tmp_path_factory, command_app):
    home = tmp_path_factory.mktemp("roster") / "home"
    with command_app(small_city, home, ("zhihui01", "paichusuo01", "xunluo01", "kezhang01", "xingzhen01")) as served:
        yield served


def _h(tokens, user, purpose=None) -> dict:
    return {"Authorization": f"Bearer {tokens[user]}", **({"X-Purpose": purpose} if purpose else {})}


def _recommended(client, tokens, s, station: str, memo: dict = {}) -> list[str]:  # noqa: B006 — one call per station, asked again
    """The units of ``station`` recommended for a call at its duty team's place."""
    h = _h(tokens, "zhihui01", duty_purpose(CITY))
    if station not in memo:
        u = next(u for u in store.units(s, station) if u["kind"] == "duty_team")
        inc = client.post("/api/command/incidents", json={"narrative": "有人打架", "lon": u["lon"] + 0.0003, "lat": u["lat"] + 0.0002}, headers=h)
        assert inc.status_code == 200, inc.text
        memo[station] = inc.json()["id"]
    detail = client.get(f"/api/command/incidents/{memo[station]}?k=20", headers=h).json()
    return [r["unit"] for r in detail["recommendations"] if r["unit"].startswith(station)]


def test_only_units_crewed_now_are_recommended_at_a_station_keeping_a_roster(app):
    client, tokens, s, station_unit = app
    station = station_unit[:8]
    mine = {u["id"] for u in store.units(s, station)}
    assert set(_recommended(client, tokens, s, station)) == mine  # no roster: every unit of the station as before
    car = f"{station}-巡1"
    now = datetime.now(UTC)
    shift = {"unit_code": station_unit, "officer": "xunluo01", "post": "patrol", "cad_unit": car,
             "starts_at": (now - timedelta(hours=1)).isoformat(), "ends_at": (now + timedelta(hours=7)).isoformat()}  # fmt: skip
    assert client.post("/api/force/shifts", json=shift, headers=_h(tokens, "paichusuo01")).status_code == 403  # no planner
    r = client.post("/api/force/shifts", json=shift, headers=_h(tokens, "zhihui01"))
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    assert _recommended(client, tokens, s, station) == [car]
    units = {u["id"]: u for u in client.get(f"/api/force/units?unit={station_unit}", headers=_h(tokens, "paichusuo01")).json()["units"]}
    assert units[car]["on_duty"] is True and units[car]["crew"] == ["xunluo01"]
    assert all(u["on_duty"] is False for k, u in units.items() if k != car)
    duty = client.get("/api/force/on-duty", headers=_h(tokens, "paichusuo01")).json()["on_duty"]
    assert [(d["officer"], d["cad_unit"]) for d in duty] == [("xunluo01", car)]

    # the officer's workload counts the incident the unit they crew was sent to
    h = _h(tokens, "zhihui01", duty_purpose(CITY))
    other = store.units(s, station)[0]  # a second call elsewhere, so the first keeps its recommendations
    inc = client.post("/api/command/incidents", json={"narrative": "车辆被盗", "lon": other["lon"] - 0.01, "lat": other["lat"] - 0.01}, headers=h).json()
    assert client.post(f"/api/command/incidents/{inc['id']}/assign", json={"unit": car}, headers=h).status_code == 200
    from zhijing.cases.procedure import service

    case_id = service.open_case(s, kind="criminal", title="辖区盗窃案", unit_code=station_unit, handler="paichusuo01",
                                purpose="test", audit=lambda *_: None)  # fmt: skip
    load = {o["username"]: o for o in client.get("/api/force/workload", headers=_h(tokens, "paichusuo01")).json()["officers"]}
    assert load["xunluo01"]["incidents"] == 1 and load["xunluo01"]["on_duty"] and load["paichusuo01"]["incidents"] == 0
    me = load["paichusuo01"]  # 受案 starts 立案审查 (3 days): due within the workload's 7-day window
    assert me["open_cases"] == 1 and me["cases"] == [case_id] and me["deadlines_due"] == 1
    assert me["next_deadline"]["name"] == "立案审查" and load["xunluo01"]["open_cases"] == 0

    assert client.delete(f"/api/force/shifts/{sid}", headers=_h(tokens, "zhihui01")).status_code == 200
    assert client.delete(f"/api/force/shifts/{sid}", headers=_h(tokens, "zhihui01")).status_code == 409
    assert set(_recommended(client, tokens, s, station)) == mine - {car}  # the rest of the station is back; the car is busy


def test_rosters_and_training_refuse_bad_input(app):
    client, tokens, s, station_unit = app
    now = datetime.now(UTC)
    base = {"unit_code": station_unit, "officer": "paichusuo01", "post": "desk", "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat()}  # fmt: skip
    boss = _h(tokens, "zhihui01")
    for bad, status in (({"ends_at": (now - timedelta(hours=1)).isoformat()}, 422), ({"ends_at": (now + timedelta(hours=30)).isoformat()}, 422),
                        ({"post": "nap"}, 422), ({"officer": "nobody"}, 422), ({"officer": "weijian01"}, 422),
                        ({"cad_unit": "99999999-巡1"}, 422), ({"starts_at": "yesterday"}, 422), ({"unit_code": "NOPE"}, 403)):  # fmt: skip
        r = client.post("/api/force/shifts", json={**base, **bad}, headers=boss)
        assert r.status_code == status, (bad, r.text)
        assert len(r.json()["detail"]) < 200
    assert client.post("/api/force/shifts", json=base, headers=boss).status_code == 200
    assert client.post("/api/force/shifts", json={**base, "starts_at": (now + timedelta(hours=2)).isoformat()}, headers=boss).status_code == 409
    assert client.get("/api/force/roster?unit=330200000000", headers=_h(tokens, "paichusuo01")).status_code == 403  # above the station
    roster = client.get("/api/force/roster", headers=_h(tokens, "paichusuo01")).json()
    assert any(x["officer"] == "paichusuo01" and x["post_zh"] == "值班民警" for x in roster["shifts"])

    rec = {"officer": "xingzhen01", "course": "刑事案件办理规范", "category": "law", "hours": 8, "completed_on": now.date().isoformat(), "result": "合格"}
    assert client.post("/api/force/training", json=rec, headers=_h(tokens, "xingzhen01")).status_code == 403  # not a leader
    r = client.post("/api/force/training", json=rec, headers=_h(tokens, "kezhang01"))
    assert r.status_code == 200, r.text
    future = (now + timedelta(days=3)).date().isoformat()
    assert client.post("/api/force/training", json={**rec, "completed_on": future}, headers=_h(tokens, "kezhang01")).status_code == 422
    got = client.get("/api/force/training", headers=_h(tokens, "kezhang01")).json()
    assert got["hours_this_year"]["xingzhen01"] == 8 and got["records"][0]["category_zh"] == "法律法规"
