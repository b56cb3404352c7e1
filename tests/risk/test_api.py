"""The risk API through the access layer: inboxes name no person, a person warning and the
transfer flows open only under a purpose (audited), contact tracing only under an emergency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhijing.access.seed import DEMO_CASE, add_purpose
from zhijing.derived.risk import data


def test_risk_api(risk_home, make_api):
    api = make_api(risk_home.home)
    admin = api.headers("admin")
    from zhijing.derived.risk import loop

    assert loop.run(risk_home, "mules")["status"] == "ok"
    assert api.post("/api/risk/models/nope/run", headers=admin).status_code == 404
    cards = {c["name"]: c for c in api.get("/api/risk/models", headers=admin).json()}
    assert cards["mules"]["person"] and cards["hotspots"]["version"]
    assert (
        api.get("/api/risk/models", headers=api.headers("weijian01")).status_code == 403
    )  # external: no risk data

    # 刑侦 desk of the city bureau
    box = api.get("/api/risk/inbox", headers=api.headers("xingzhen01")).json()["items"]
    mule = [w for w in box if w["model"] == "mules"]
    assert mule and all(w["subject"] is None for w in mule)
    wid = mule[0]["id"]
    assert api.get(f"/api/risk/warnings/{wid}", headers=api.headers("xingzhen01")).status_code == 403
    assert api.get(f"/api/risk/warnings/{wid}/person", headers=api.headers("xingzhen01")).status_code == 403
    for other in (DEMO_CASE, "emergency:PH2026-01"):  # a fraud-mule warning opens under a fraud case, not the burglary case
        for path in ("person", "flows"):
            r = api.get(f"/api/risk/warnings/{wid}/{path}", headers=api.headers("xingzhen01", other))
            assert r.status_code == 403 and "own kind" in r.json()["detail"] and "PM" not in r.text
    h = api.headers("xingzhen01", "case:A330200000000002")
    full = api.get(f"/api/risk/warnings/{wid}/person", headers=h).json()
    assert full["subject"].startswith("PM")
    graph = api.get(f"/api/risk/warnings/{wid}/flows", headers=h).json()
    assert any(n["focus"] for n in graph["nodes"]) and graph["links"]
    r = api.post(
        f"/api/risk/warnings/{wid}/state",
        headers=api.headers("xingzhen01"),
        data={"state": "closed", "verdict": "confirmed"},
    )
    assert r.status_code == 200
    assert (
        api.post(
            f"/api/risk/warnings/{wid}/state", headers=api.headers("xingzhen01"), data={"state": "acting"}
        ).status_code
        == 409
    )
    assert {c["name"]: c for c in api.get("/api/risk/models", headers=admin).json()}["mules"]["feedback"][
        "confirmed"
    ] == 1

    cells = api.get("/api/risk/hotcells?day=2026-05-01&wait=60", headers=api.headers("paichusuo01")).json()["cells"]
    assert cells and set(cells[-1]) == {"lon", "lat", "expected"} and cells[0]["place"]["text"]


def contacts(api, params: dict, purpose: str) -> int:
    """The status of a contact-tracing request by xingzhen01 under ``purpose``."""
    return api.get("/api/risk/contacts", params=params, headers=api.headers("xingzhen01", purpose)).status_code


def test_contact_tracing_route_needs_an_emergency(risk_home, make_api):
    api = make_api(risk_home.home)
    index = data.query(
        risk_home, "SELECT master_id FROM l LIMIT 1", l="entities/person_links"
    ).master_id.tolist()
    q = {"index": index}
    assert contacts(api, q, "case:A330200000000002") == 403
    add_purpose(risk_home, "emergency:PH-API", "密接排查", "330200000000", ["xingzhen01"],
                expires_at=datetime.now(UTC) + timedelta(hours=1), subjects=index)  # fmt: skip
    ok = api.get("/api/risk/contacts", params=q, headers=api.headers("xingzhen01", "emergency:PH-API"))
    assert ok.status_code == 200 and ok.json()["index"] == index
    other = {"index": ["PM0000000000NOPE"]}
    assert contacts(api, other, "emergency:PH-API") == 403
    add_purpose(risk_home, "emergency:PH-API", "密接排查", "330200000000", ["xingzhen01"],
                expires_at=datetime.now(UTC) - timedelta(seconds=1), subjects=index)  # fmt: skip
    assert contacts(api, q, "emergency:PH-API") == 403


def test_hand_off_to_the_health_department(risk_home, make_api):
    from zhijing.derived.risk import handoff
    from zhijing.errors import AccessDenied

    api = make_api(risk_home.home)
    index = data.query(risk_home, "SELECT master_id FROM l WHERE mention_id LIKE 'hukou_person|%' LIMIT 1",
                       l="entities/person_links").master_id.tolist()  # fmt: skip
    add_purpose(risk_home, "emergency:PH-HO", "密接排查", "330200000000", ["xingzhen01"],
                expires_at=datetime.now(UTC) + timedelta(hours=1), subjects=index)  # fmt: skip
    with pytest.raises(AccessDenied):  # to a police account: not a hand-off
        handoff.hand_off(risk_home, "xingzhen01", "emergency:PH-HO", index, ["paichusuo01"])
    ticket = handoff.hand_off(risk_home, "xingzhen01", "emergency:PH-HO", index, ["weijian01"])
    got = api.get("/api/risk/handoff", headers=api.headers("weijian01", ticket))
    assert got.status_code == 200 and got.json()["contacts"]  # the household, at least
    assert api.get("/api/risk/handoff", headers=api.headers("weijian01")).status_code == 403
    assert (
        api.get("/api/risk/handoff", headers=api.headers("xingzhen01", ticket)).status_code == 403
    )  # not assigned


def test_bad_input_is_one_clear_line(risk_home, make_api):
    api = make_api(risk_home.home)
    h = api.headers("admin")
    for day in ("yesterday", "", "2026-13-45"):
        r = api.get("/api/risk/hotcells", params={"day": day}, headers=h)
        assert r.status_code in (200, 422) and (r.status_code == 200 or set(r.json()) == {"detail"}), day
    assert api.get("/api/risk/warnings/abc", headers=h).status_code == 404
    assert api.post("/api/risk/warnings/999999/state", data={"state": "closed"}, headers=h).status_code == 404
