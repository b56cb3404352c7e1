"""The citizens' services over the API, each with good and bad input: identity through the
verification service and a one-time code, certificates issued or sent to the station's desk,
the traffic lookup by plate and engine number, lost-and-found reports, the rate limit, and
an audit trail in which a citizen's events name that citizen alone."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from zhijing.access.audit.store import log_for
from zhijing.public import check, records, service


@pytest.fixture(scope="module")
def gov(resolved_city):
    """(client, settings, people) on the resolved small city: a clean citizen, one a criminal
    case names a suspect, both with a registered phone and household."""
    from zhijing.access.seed import add_user, seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import get_settings, reset_settings

    settings = resolved_city[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(settings.home))
        mp.setenv("ZHIJING_PUBLIC__RATE", "1000/minute")  # the test client is one address: the limit is tested on its own
        reset_settings()
        seed_demo(get_settings())
        db = sqlite3.connect(settings.state_dir / "serving.db")
        rows = db.execute("""SELECT master_id, name, citizen_id, phone FROM persons WHERE phone != '' AND citizen_id != ''
                             ORDER BY master_id""").fetchall()  # fmt: skip
        people = {}
        for mid, name, cid, phone in rows:
            suspect = bool(records.criminal_cases(get_settings(), mid))
            kind = "suspect" if suspect else "clean"
            if kind not in people and (suspect or records.household(get_settings(), mid).get("household")):
                people[kind] = {"master_id": mid, "name": name, "citizen_id": cid, "phone": phone}
            if len(people) == 2:
                break
        station = service.home_station(get_settings(), people["suspect"]["master_id"])
        add_user(get_settings(), "desk01", "王窗口", station, "治安", "desk-password-1", "officer", 2)
        yield TestClient(create_app()), get_settings(), people, station
    reset_settings()


def _session(client, who: dict) -> dict:
    r = client.post("/api/gov/identity", json={k: who[k] for k in ("name", "citizen_id", "phone")})
    assert r.status_code == 200, r.text
    code = r.json()["simulated_code"]
    r = client.post("/api/gov/identity/confirm", json={"challenge": r.json()["challenge"], "code": code})
    assert r.status_code == 200, r.text
    return {"X-Gov-Session": r.json()["session"]}


def test_identity_needs_name_id_and_phone_to_match(gov):
    client, settings, people, _ = gov
    who = people["clean"]
    for wrong in ({**who, "phone": "13900000001"}, {**who, "name": who["name"] + "某"}):
        r = client.post("/api/gov/identity", json={k: wrong[k] for k in ("name", "citizen_id", "phone")})
        assert r.status_code == 403 and set(r.json()) == {"detail"}
        assert who["phone"] not in r.text and "differs" not in r.text  # never which attribute, never a value
    assert client.post("/api/gov/identity", json={"name": "x", "citizen_id": "123", "phone": "1"}).status_code == 422
    r = client.post("/api/gov/identity", json={k: who[k] for k in ("name", "citizen_id", "phone")})
    challenge = r.json()["challenge"]
    assert r.json()["sent_to"].count("*") == 4 and "simulated_code" in r.json()
    assert client.post("/api/gov/identity/confirm", json={"challenge": challenge, "code": "000000" if r.json()["simulated_code"] != "000000" else "111111"}).status_code == 403
    assert client.get("/api/gov/requests").status_code == 403  # no session
    assert client.get("/api/gov/requests", headers={"X-Gov-Session": "forged"}).status_code == 403


def test_repeated_wrong_identities_lock_the_id_out(gov):
    client, settings, people, _ = gov
    who = people["suspect"]
    bad = {"name": who["name"], "citizen_id": who["citizen_id"], "phone": "13900000002"}
    codes = [client.post("/api/gov/identity", json=bad).status_code for _ in range(6)]
    assert codes == [403] * 6
    r = client.post("/api/gov/identity", json={**bad, "phone": who["phone"]})
    assert r.status_code == 403 and "too many failed attempts" in r.json()["detail"]  # even the right phone, for now
    from zhijing.access.account_tables import engine, failures

    with engine(settings).begin() as conn:  # the lockout's end, without waiting for it
        conn.execute(failures.delete())


def test_a_clean_citizen_gets_both_certificates_and_they_verify(gov):
    client, settings, people, _ = gov
    h = _session(client, people["clean"])
    key = client.get("/.well-known/zhijing-certificate-key.json").json()["public_key"]
    for kind in ("no_record", "hukou"):
        r = client.post("/api/gov/certificates", json={"kind": kind}, headers=h)
        assert r.status_code == 200 and r.json()["status"] == "issued", r.text
        pdf = client.get(f"/api/gov/certificates/{r.json()['certificate']}.pdf", headers=h)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        verdict = check.verify_document(pdf.content, key, check.today())
        assert verdict.ok and verdict.fields["kind"] == kind and verdict.fields["name"] == people["clean"]["name"], verdict
    assert "household" in verdict.fields and verdict.fields["id"].count("*") == 10
    assert client.post("/api/gov/certificates", json={"kind": "passport"}, headers=h).status_code == 422
    assert client.post("/api/gov/logout", headers=h).status_code == 200
    assert client.get("/api/gov/requests", headers=h).status_code == 403  # the session ended


def test_a_suspect_waits_for_the_station_which_decides(gov):
    client, settings, people, station = gov
    h = _session(client, people["suspect"])
    r = client.post("/api/gov/certificates", json={"kind": "no_record"}, headers=h)
    assert r.json()["status"] == "review" and "certificate" not in r.json()
    mine = client.get("/api/gov/requests", headers=h).json()["requests"]
    assert mine[0]["status"] == "review" and "internal" not in json.dumps(mine) and "case" not in json.dumps(mine)
    # another citizen cannot fetch a certificate by number
    other = _session(client, people["clean"])
    issued = client.get("/api/gov/requests", headers=other).json()["requests"][0]["certificate"]
    assert client.get(f"/api/gov/certificates/{issued}.pdf", headers=h).status_code == 404

    token = client.post("/api/auth/token", data={"username": "desk01", "password": "desk-password-1"}).json()["access_token"]
    desk = {"Authorization": f"Bearer {token}", "X-Purpose": service.station_purpose(station)}
    listed = client.get("/api/gov-desk/requests", params={"status": "review"}, headers=desk)
    assert listed.status_code == 200, listed.text
    row = next(x for x in listed.json()["requests"] if x["id"] == r.json()["request"])
    assert "named a suspect in criminal case" in row["internal"]
    assert client.get("/api/gov-desk/requests", headers={**desk, "X-Purpose": "ticket:GOV-PUBLIC"}).status_code == 403
    d = client.post(f"/api/gov-desk/requests/{row['id']}/decision", json={"decision": "issue", "note": "已核实为被害人误录"}, headers=desk)
    assert d.status_code == 200 and d.json()["status"] == "issued", d.text
    again = client.post(f"/api/gov-desk/requests/{row['id']}/decision", json={"decision": "refuse"}, headers=desk)
    assert again.status_code == 409
    mine = client.get("/api/gov/requests", headers=h).json()["requests"]
    assert mine[0]["status"] == "issued" and mine[0]["certificate"] == d.json()["certificate"]
    assert client.get(f"/api/gov/certificates/{mine[0]['certificate']}.pdf", headers=h).status_code == 200


def test_traffic_lookup_by_plate_and_engine_number(gov, resolved_city):
    client, settings, *_ = gov
    city = resolved_city[1]
    vehicles = pd.read_csv(city / "sources" / "traffic" / "vehicles.csv", encoding="gbk", encoding_errors="replace", dtype=str)
    reads = duckdb.sql(f"""SELECT plate, speed_kmh FROM read_json('{city}/sources/streams/checkpoint_reads.jsonl', ignore_errors=true,
                           format='newline_delimited', columns={{'plate': 'VARCHAR', 'speed_kmh': 'DOUBLE'}})""").df()  # fmt: skip
    for _, v in vehicles.head(10).iterrows():  # the department's own readings above the limit, every one
        r = client.post("/api/gov/traffic", json={"plate": v["号牌号码"], "engine": v["车辆识别代号"][-6:]})
        assert r.status_code == 200, r.text
        planted = reads[(reads.plate == v["号牌号码"]) & (reads.speed_kmh > records.SPEED_LIMIT_KMH)]
        assert len(r.json()["violations"]) == len(planted) and r.json()["vehicle"]["plate"] == v["号牌号码"]
    wrong = client.post("/api/gov/traffic", json={"plate": v["号牌号码"], "engine": "ZZZZZZ"})
    unknown = client.post("/api/gov/traffic", json={"plate": "浙Z99999", "engine": "123456"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()  # no telling which was wrong
    assert client.post("/api/gov/traffic", json={"plate": "x", "engine": "1"}).status_code == 422


def test_lost_and_found_reach_the_station_desk(gov):
    client, settings, people, station = gov
    h = _session(client, people["clean"])
    body = {"kind": "lost", "station": station, "item": "黑色钱包", "place": "天一广场", "when": "昨天下午",
            "description": "内有身份证", "phone": "13812345678"}  # fmt: skip
    r = client.post("/api/gov/lost-found", json=body, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "received"
    assert client.post("/api/gov/lost-found", json=body).status_code == 403  # identity first
    assert client.post("/api/gov/lost-found", json={**body, "station": "999999999999"}, headers=h).status_code == 422
    token = client.post("/api/auth/token", data={"username": "desk01", "password": "desk-password-1"}).json()["access_token"]
    desk = {"Authorization": f"Bearer {token}", "X-Purpose": service.station_purpose(station)}
    found = client.post("/api/gov/lost-found", json={**body, "kind": "found", "item": "钱包（黑色）", "description": ""}, headers=h)
    other = client.post("/api/gov/lost-found", json={**body, "kind": "found", "item": "雨伞"}, headers=h)
    rows = {x["id"]: x for x in client.get("/api/gov-desk/requests", params={"status": "received"}, headers=desk).json()["requests"]}
    assert rows[r.json()["id"]]["detail"]["item"] == "黑色钱包"
    assert rows[r.json()["id"]]["matches"] == [found.json()["id"]] and rows[found.json()["id"]]["matches"] == [r.json()["id"]]
    assert rows[other.json()["id"]]["matches"] == []
    assert client.post(f"/api/gov-desk/requests/{r.json()['id']}/decision", json={"decision": "close"}, headers=desk).status_code == 200


def test_every_disclosure_to_a_citizen_names_that_citizen_alone(gov):
    client, settings, people, _ = gov
    events = log_for(settings).events(5000)
    mine = [e for e in events if str(e["actor"]).startswith("citizen:")]
    assert mine and all(e["purpose"] == service.PURPOSE for e in mine)
    assert all(e["records"] == [e["actor"].split(":", 1)[1]] for e in mine)
    refused = [e for e in events if e["actor"] == service.ACTOR and e["outcome"] == "refused"]
    assert refused and all(e["records"] == [] for e in refused)


def test_the_rate_limit_answers_429(gov, monkeypatch):
    client, settings, *_ = gov
    from zhijing.config import reset_settings

    monkeypatch.setenv("ZHIJING_PUBLIC__RATE", "3/minute")
    reset_settings()
    try:
        codes = [client.get("/api/gov/stations").status_code for _ in range(5)]
        assert codes[:3] == [200] * 3 and codes[3:] == [429, 429]
    finally:
        monkeypatch.setenv("ZHIJING_PUBLIC__RATE", "1000/minute")
        reset_settings()
