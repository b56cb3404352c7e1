"""The dispatch API as its three tiers use it: the city's dispatcher takes a call and sends a
unit, the unit's phone accepts, arrives, clears and feeds back, a station duty room sees its
own jurisdiction only; every action is in the audit trail; bad input is answered 404 / 409 /
422, never 500; the live stream resumes by Last-Event-ID."""

from __future__ import annotations

import base64
import json
import threading

import pytest

from zhijing.access.seed import duty_purpose
from zhijing.command import store

CITY = "330200000000"
PHONE = "13812345678"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()


@pytest.fixture(scope="module")
def app(small_city, tmp_path_factory, command_app):
    """An API over the small city's reference data, the demo organisation seeded and the units placed."""
    home = tmp_path_factory.mktemp("command-api") / "home"
    with command_app(small_city, home, ("zhihui01", "paichusuo01", "xunluo01", "xingzhen01")) as (client, tokens, s, station):
        yield Api(client, tokens, s, station)


class Api:
    def __init__(self, client, tokens, settings, station_unit):
        self.client, self.tokens, self.settings = client, tokens, settings
        self.station_unit, self.station = station_unit, station_unit[:8]
        self.purpose = {"zhihui01": duty_purpose(CITY), "paichusuo01": duty_purpose(station_unit), "xunluo01": duty_purpose(station_unit)}

    def h(self, user: str, purpose: str | None = "") -> dict:
        chosen = self.purpose.get(user) if purpose == "" else purpose
        return {"Authorization": f"Bearer {self.tokens[user]}", **({"X-Purpose": chosen} if chosen else {})}

    def get(self, path, user="zhihui01", **kw):
        return self.client.get(f"/api/command{path}", headers=self.h(user), **kw)

    def post(self, path, user="zhihui01", **kw):
        return self.client.post(f"/api/command{path}", headers=self.h(user), **kw)

    def audit(self, **kw) -> list[dict]:
        from zhijing.access.audit.store import log_for

        return log_for(self.settings).events(5000, **kw)


def _at(api: Api, station: str) -> dict:
    """A call at a station's units' place."""
    u = next(u for u in store.units(api.settings, station) if u["kind"] == "duty_team")
    return {"lon": u["lon"] + 0.0003, "lat": u["lat"] + 0.0002, "station": station}


def _other_station(api: Api) -> str:
    return next(u["station"] for u in store.units(api.settings) if u["station"] != api.station)


def _create(api: Api, station: str, user="zhihui01", **more) -> dict:
    at = _at(api, station)
    r = api.post("/incidents", user, json={"narrative": "有人打架，快来", "lon": at["lon"], "lat": at["lat"], **more})
    assert r.status_code == 200, r.text
    return r.json()


def test_dispatch_opens_under_a_duty_purpose_only(app):
    assert app.get("/incidents").status_code == 200
    for purpose in (None, "case:A330200000000001", "order:110-NOPE", "bogus"):
        r = app.client.get("/api/command/incidents", headers=app.h("zhihui01", purpose))
        assert r.status_code == 403 and len(r.json()["detail"]) < 120
    assert app.client.get("/api/command/incidents").status_code == 401


def test_a_call_from_intake_to_feedback(app):
    inc = _create(app, app.station, phone=PHONE)
    assert inc["id"].startswith("JQ") and inc["station"] == app.station and inc["state"] == "received"
    assert inc["received_at"].endswith("+08:00")
    detail = app.get(f"/incidents/{inc['id']}").json()
    assert detail["recommendations"] and all(r["unit"].startswith(app.station) for r in detail["recommendations"])
    assert detail["category"] and detail["plan_detail"]["steps"] and detail["plan_detail"]["id"] == detail["plan"]  # intake's triage and plan
    car = store.unit_of_user(app.settings, "xunluo01")
    assert car["id"] == f"{app.station}-巡1"
    a = app.post(f"/incidents/{inc['id']}/assign", json={"unit": car["id"]})
    assert a.status_code == 200, a.text
    aid = a.json()["id"]
    me = app.get("/me", "xunluo01").json()
    assert me["unit"]["id"] == car["id"] and me["assignment"]["id"] == aid and me["incident"]["id"] == inc["id"]
    for step in ("accept", "arrive", "clear"):
        assert app.post(f"/assignments/{aid}/{step}", "xunluo01").status_code == 200
    assert app.post(f"/assignments/{aid}/accept", "xunluo01").json()["repeat"]  # a retried request is no error
    fb = app.post(f"/assignments/{aid}/feedback", "xunluo01", json={"note": "双方已调解", "photo": f"data:image/png;base64,{PNG}"})
    assert fb.status_code == 200 and fb.json()["photo"].startswith("dispatch/photos/")
    photo = app.get(f"/assignments/{aid}/photo")
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
    done = app.get(f"/incidents/{inc['id']}").json()
    steps = done["assignments"][0]
    assert done["state"] == "cleared" and all(steps[k].endswith("+08:00") for k in ("dispatched_at", "en_route_at", "on_scene_at",
                                                                                     "cleared_at", "feedback_at"))  # fmt: skip
    assert app.post(f"/incidents/{inc['id']}/close").status_code == 200
    again = app.post(f"/incidents/{inc['id']}/close")
    assert again.status_code == 409 and "已结案" in again.json()["detail"]


def test_the_second_dispatcher_is_told_who_has_the_unit(app):
    one, two = _create(app, app.station), _create(app, app.station, narrative="另一起：有人晕倒", lat=_at(app, app.station)["lat"] + 0.004)
    unit = next(u for u in store.units(app.settings, app.station) if u["status"] == "available" and u["kind"] == "foot")
    out = {}

    def send(user: str, inc: str) -> None:
        out[user] = app.post(f"/incidents/{inc}/assign", user, json={"unit": unit["id"]})

    threads = [threading.Thread(target=send, args=a) for a in (("zhihui01", one["id"]), ("paichusuo01", two["id"]))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(r.status_code for r in out.values())
    assert codes == [200, 409], {u: r.text for u, r in out.items()}
    winner = next(u for u, r in out.items() if r.status_code == 200)
    loser = next(r for r in out.values() if r.status_code == 409)
    assert winner in loser.json()["detail"] and unit["callsign"] in loser.json()["detail"]
    for inc in (one, two):
        app.post(f"/incidents/{inc['id']}/close")


def test_a_station_sees_its_own_jurisdiction_only(app):
    other = _other_station(app)
    mine, theirs = _create(app, app.station), _create(app, other)
    listed = {i["id"] for i in app.get("/incidents", "paichusuo01").json()["items"]}
    assert mine["id"] in listed and theirs["id"] not in listed
    assert {u["station"] for u in app.get("/units", "paichusuo01").json()["items"]} == {app.station}
    assert len({u["station"] for u in app.get("/units").json()["items"]}) > 1  # the city sees every station's
    r = app.get(f"/incidents/{theirs['id']}", "paichusuo01")
    assert r.status_code == 404
    refused = app.audit(actor="paichusuo01", record=theirs["id"])
    assert refused and refused[0]["outcome"] == "refused"
    foreign_unit = next(u["id"] for u in store.units(app.settings, other))
    assert app.post(f"/incidents/{mine['id']}/assign", "paichusuo01", json={"unit": foreign_unit}).status_code == 404
    assert app.post(f"/incidents/{theirs['id']}/close", "paichusuo01").status_code == 404
    for inc in (mine, theirs):
        app.post(f"/incidents/{inc['id']}/close")


def test_escalation_takes_the_command_from_the_station(app):
    inc = _create(app, app.station, "paichusuo01")
    assert app.post(f"/incidents/{inc['id']}/escalate", "paichusuo01").json()["tier"] == "branch"
    r = app.post(f"/incidents/{inc['id']}/close", "paichusuo01")
    assert r.status_code == 403 and "分局" in r.json()["detail"]
    assert app.post(f"/incidents/{inc['id']}/escalate").json()["tier"] == "city"
    assert app.post(f"/incidents/{inc['id']}/escalate").status_code == 409
    assert app.post(f"/incidents/{inc['id']}/close").status_code == 200


def test_a_phone_steps_only_its_own_units_assignments(app):
    inc = _create(app, app.station)
    other = next(u for u in store.units(app.settings, app.station) if u["kind"] == "duty_team")
    aid = app.post(f"/incidents/{inc['id']}/assign", json={"unit": other["id"]}).json()["id"]
    r = app.post(f"/assignments/{aid}/accept", "xunluo01")
    assert r.status_code == 403 and store.assignment(app.settings, aid)["state"] == "dispatched"
    assert app.post(f"/assignments/{aid}/accept", "zhihui01").status_code == 403  # a dispatcher is not the unit's phone
    assert app.post(f"/incidents/{inc['id']}/close", "xunluo01").status_code == 403  # a patrol phone does not command
    assert app.post(f"/assignments/{aid}/cancel").status_code == 200
    assert app.post(f"/assignments/{aid}/cancel").status_code == 409
    app.post(f"/incidents/{inc['id']}/close")


def test_every_dispatch_action_is_in_the_audit_trail(app):
    since = app.audit()[0]["seq"]
    inc = _create(app, app.station)
    car = store.unit_of_user(app.settings, "xunluo01")
    aid = app.post(f"/incidents/{inc['id']}/assign", json={"unit": car["id"]}).json()["id"]
    for step in ("accept", "arrive", "clear"):
        app.post(f"/assignments/{aid}/{step}", "xunluo01")
    app.post(f"/assignments/{aid}/feedback", "xunluo01", json={"note": "完毕"})
    app.post(f"/incidents/{inc['id']}/escalate", "paichusuo01")
    app.post(f"/incidents/{inc['id']}/close")
    app.get(f"/incidents/{inc['id']}")
    trail = [e for e in reversed(app.audit()) if e["seq"] > since and inc["id"] in (e.get("records") or [])]
    said = [(e["actor"], e["query"], e["outcome"], e["purpose"]) for e in trail]
    expected = [("zhihui01", "command intake"), ("zhihui01", "command assign"), ("xunluo01", "command accept"),
                ("xunluo01", "command arrive"), ("xunluo01", "command clear"), ("xunluo01", "command feedback"),
                ("paichusuo01", "command escalate"), ("zhihui01", "command close"), ("zhihui01", "command incident")]  # fmt: skip
    assert [(a, q) for a, q, _, _ in said] == expected
    assert all(o == "allowed" and p.startswith("order:110-") for _, _, o, p in said)
    assert all(e["operation"] == ("consult" if e["query"] == "command incident" else "collect" if "intake" in e["query"] else "alter")
               for e in trail)  # fmt: skip


def test_the_callers_phone_is_masked_below_its_clearance(app):
    inc = _create(app, app.station, phone=PHONE)
    body = app.get(f"/incidents/{inc['id']}").text  # zhihui01: clearance 1
    assert PHONE not in body and "138****5678" in body
    assert PHONE not in app.get("/incidents").text
    app.post(f"/incidents/{inc['id']}/close")


@pytest.mark.parametrize("path", ["/incidents/..%2F..%2Fetc", "/incidents/JQ'%20OR%201=1", "/incidents/" + "9" * 400,
                                  "/incidents/JQ20261207999999", "/assignments/abc/photo", "/assignments/99999999999999999999999/photo",
                                  "/assignments/-1/photo"])  # fmt: skip
def test_unknown_and_hostile_ids_are_404(app, path):
    assert app.get(path).status_code == 404


@pytest.mark.parametrize("method,path,body", [
    ("get", "/incidents?limit=-1", None), ("get", "/incidents?limit=1000000000", None), ("get", "/incidents?offset=-5", None),
    ("get", "/incidents?limit=abc", None), ("post", "/incidents", {"narrative": "   "}), ("post", "/incidents", {}),
    ("post", "/incidents", {"narrative": "x" * 5000}), ("post", "/incidents", {"narrative": "x", "lon": 500, "lat": 30}),
    ("post", "/incidents", {"narrative": "x", "lon": 121.5}), ("post", "/incidents", {"narrative": "x", "phone": "<script>"}),
    ("post", "/incidents", "not json"), ("post", "/assignments/1/fly", {}), ("post", "/me/position", {"lon": "nan", "lat": 1}),
    ("post", "/incidents", {"narrative": "x", "received_at": "soon"}),
])  # fmt: skip
def test_bad_input_is_422(app, method, path, body):
    kw = {"json": body} if isinstance(body, dict) else {"content": body, "headers": {**app.h("zhihui01"), "content-type": "application/json"}} if body else {}
    r = app.client.request(method.upper(), f"/api/command{path}", **({"headers": app.h("zhihui01")} | kw))
    assert r.status_code == 422, r.text


def test_bad_input_on_real_ids_is_answered_never_500(app):
    inc = _create(app, app.station)
    for body in ({"unit": "x" * 49}, {"unit": "no-such-unit"}, {"unit": f"{app.station}-巡9"}, {"unit": "'; drop table cad_units;--"}):
        r = app.post(f"/incidents/{inc['id']}/assign", json=body)
        assert r.status_code in (404, 422), (body, r.status_code)
    car = store.unit_of_user(app.settings, "xunluo01")
    aid = app.post(f"/incidents/{inc['id']}/assign", json={"unit": car["id"]}).json()["id"]
    for body in ({"photo": "data:image/png;base64,!!!"}, {"photo": "data:text/html;base64,PGI+"},
                 {"photo": "data:image/png;base64," + base64.b64encode(b"<svg/>").decode()}):  # fmt: skip
        app.post(f"/assignments/{aid}/accept", "xunluo01")
        app.post(f"/assignments/{aid}/arrive", "xunluo01")
        assert app.post(f"/assignments/{aid}/feedback", "xunluo01", json=body).status_code == 422
    empty_but_reachable = app.post("/incidents", json={"narrative": "", "phone": PHONE})
    assert empty_but_reachable.status_code == 200 and "empty_text" in empty_but_reachable.json()["flag"]  # kept and flagged
    for i in (inc["id"], empty_but_reachable.json()["id"]):
        app.post(f"/incidents/{i}/close")


def _events(lines, n: int) -> list[dict]:
    """The next ``n`` events of an SSE line iterator (comments skipped), with their ids."""
    out, cur = [], {}
    for line in lines:
        if line.startswith("id: "):
            cur["id"] = int(line[4:])
        elif line.startswith("data: "):
            cur["data"] = json.loads(line[6:])
        elif line == "" and "data" in cur:
            out.append(cur)
            cur = {}
            if len(out) == n:
                return out
    return out


def test_the_live_stream_resumes_and_keeps_to_the_jurisdiction(app):
    start = store.last_seq(app.settings)
    mine, theirs = _create(app, app.station, phone=PHONE), _create(app, _other_station(app))
    h = {**app.h("paichusuo01"), "Last-Event-ID": str(start)}
    with app.client.stream("GET", "/api/command/stream", headers=h) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        first = _events(lines, 1)[0]  # missed while away: sent from the table
        assert first["data"]["incident"] == mine["id"] and first["id"] > start and first["data"]["at"].endswith("+08:00")
        later = store.create_incident(app.settings, {"narrative": "live", **_at(app, app.station), "located": "coords", "category": "live"}, "api", "t")
        store.create_incident(app.settings, {"narrative": "elsewhere", **_at(app, _other_station(app))}, "api", "t")
        nxt = _events(lines, 1)[0]  # live, through the app's poller
        assert nxt["data"]["incident"] == later["id"] and nxt["data"]["kind"] == "incident.new" and nxt["id"] > first["id"]
    audit = [e for e in app.audit(actor="paichusuo01") if (e.get("query") or "").startswith("command stream")]
    assert audit and audit[0]["outcome"] == "allowed"
    for i in (mine["id"], theirs["id"], later["id"]):
        app.post(f"/incidents/{i}/close")


def test_the_phones_poll_keeps_its_unit_seen_and_kpis_answer(app):
    import sqlalchemy as sa

    car = store.unit_of_user(app.settings, "xunluo01")
    with store.engine(app.settings).begin() as c:
        c.execute(sa.update(store.units_t).where(store.units_t.c.id == car["id"]).values(last_seen=store._now().replace(year=2020)))
    assert store.unit(app.settings, car["id"])["stale"]
    before = store.last_seq(app.settings)
    assert app.get("/me", "xunluo01").json()["unit"]["stale"] is False
    assert store.last_seq(app.settings) == before  # seen, not moved: no event
    k = app.get("/kpi")
    assert k.status_code == 200 and {"targets", "rows"} <= set(k.json())
    assert app.get("/kpi", "paichusuo01").status_code == 200
    listed = app.get("/incidents", params={"open": 0, "limit": 2000})
    assert listed.status_code == 200 and listed.json()["total"] >= len(listed.json()["items"]) > 0
