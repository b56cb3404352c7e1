"""Watchlists (智能布控, issue 20 item 3) against the planted burglary crew.

A home copied from the session's resolved city loses some checkpoint reads from its clean zone —
every read of the crew's car (the planted ones, its everyday ones, its OCR misreads) and a few
hundred of other cars — so that they can land again, as new records, after the watches are
placed. Through the model build path (`zhijing ingest` / `stream consume`: clean → model →
match) the approved watch on the crew's plate hits exactly the car's reads (precision and
recall against the generator's truth); a pending, an expired and a revoked watch on the same
plate hit nothing. On the live path (a raw row on the stream, cleaned and mapped in memory) an
OCR-confused read hits by the plate's OCR key, a fresh hotel check-in hits the watched crew
member by the ID it carries before any resolve, and a deployment's own dataset of a type the
generator does not know (parking entries) hits through its declaration alone.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from zhijing.access.seed import DEMO_CASE
from zhijing.command import watch
from zhijing.command import watch_store as ws
from zhijing.derived.workbench.keys import plate_key
from zhijing.lake.store import current_files, rewrite
from zhijing.sources.generate.faults import OCR

OTHERS = 300  # reads of other cars that land again beside the crew car's


class Api:
    """A TestClient with one token per user (a login hashes a password: slow on purpose)."""

    def __init__(self, client, logins: dict[str, str]):
        self.client, self.logins, self.tokens = client, logins, {}

    def headers(self, user: str, purpose: str | None = DEMO_CASE) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/auth/token", data={"username": user, "password": self.logins[user]})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}", **({"X-Purpose": purpose} if purpose else {})}

    def __getattr__(self, name):
        return getattr(self.client, name)


def _jsonl(path: Path) -> dict[str, str]:
    """read id → the line as the sensor sent it (lines that are not JSON are the lake's to quarantine)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out[json.loads(line)["read_id"]] = line
        except (ValueError, KeyError, TypeError):
            continue
    return out


@pytest.fixture(scope="module")
def city(resolved_city, tmp_path_factory):
    """(settings, api, crew truth, the removed reads: {read id: line}, the crew car's read ids)."""
    from fastapi.testclient import TestClient

    from zhijing.access.seed import name_subjects, seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import get_settings, reset_settings
    from zhijing.pipeline import build_and_watch

    src, small, _ = resolved_city
    crew_path = small / "truth" / "structures" / "burglary_crew.json"
    if not crew_path.exists():
        pytest.skip("this city plants no burglary crew (generated before the suspects were planted)")
    crew = json.loads(crew_path.read_text(encoding="utf-8"))
    people = pd.read_parquet(small / "truth" / "persons.parquet").set_index("person_id")
    crew["citizen_ids"] = [people.citizen_id[p] for p in crew["members"]]
    home = tmp_path_factory.mktemp("watch") / "home"
    shutil.copytree(src.home, home, symlinks=True)
    lines = _jsonl(small / "sources" / "streams" / "checkpoint_reads.jsonl")
    faults = pd.read_parquet(small / "truth" / "record_faults.parquet")
    ocr = set(faults[faults.fault == "plate_ocr"].record_id)
    plate, misread = crew["plate"], crew["plate"][:2] + crew["plate"][2:].translate(OCR)
    car = {rid for rid, line in lines.items()
           if (p := json.loads(line).get("plate")) == plate and rid not in ocr or (rid in ocr and p == misread)}  # fmt: skip
    others = sorted(set(lines) - car)[:: max(1, len(lines) // OTHERS)][:OTHERS]
    lookalike = [rid for rid, line in lines.items() if plate_key(str(json.loads(line).get("plate"))) == plate_key(plate)]
    removed = {rid: lines[rid] for rid in sorted(car | set(others) | set(lookalike))}
    # a camera's misread of the car beside them (the city planted none of this car): the OCR key must find it too
    first = json.loads(lines[min(car)])
    removed["KKOCR0000001"] = json.dumps({**first, "read_id": "KKOCR0000001", "plate": misread}, ensure_ascii=False)
    car = car | {"KKOCR0000001"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        settings = get_settings()
        logins = {u: p for u, p, _ in seed_demo(settings)}
        with duckdb.connect() as con:
            con.register("gone", pd.DataFrame({"rid": list(removed)}))
            rewrite(settings, "clean", "checkpoint_read", con, "_record_id NOT IN (SELECT rid FROM gone)")
        build_and_watch(settings)  # the model without them; nothing is watched yet
        name_subjects(settings, DEMO_CASE, _masters(settings, crew))  # the series case names its suspects
        yield settings, Api(TestClient(create_app()), logins), crew, removed, car
    reset_settings()


def _masters(settings, crew: dict) -> list[str]:
    """The crew's masters (in the truth's order), by the citizen IDs the truth gives them."""
    from zhijing.serving import store
    from zhijing.serving.tables import person_keys

    with store.connect(settings) as conn:
        found = dict(conn.execute(sa.select(person_keys.c.value, person_keys.c.master_id)
                                  .where(person_keys.c.value.in_(crew["citizen_ids"]), person_keys.c.kind == "citizen_id")).all())  # fmt: skip
    return [found[c] for c in crew["citizen_ids"]]


def _place(api: Api, kind: str, value: str, user: str = "xingzhen01", approver: str = "kezhang01", days: int = 7,
           reason: str = "入室盗窃系列案嫌疑车辆", purpose: str = DEMO_CASE):  # fmt: skip
    expires = (pd.Timestamp.now(tz="Asia/Shanghai") + timedelta(days=days)).isoformat()
    return api.post("/api/watch", json={"kind": kind, "value": value, "reason": reason, "expires_at": expires, "approver": approver},
                    headers=api.headers(user, purpose))  # fmt: skip


def _approved(api: Api, kind: str, value: str, user: str = "xingzhen01", approver: str = "kezhang01", purpose: str = DEMO_CASE) -> dict:
    r = _place(api, kind, value, user=user, approver=approver, purpose=purpose)
    assert r.status_code == 200, r.text
    a = api.post(f"/api/watch/{r.json()['id']}/approve", headers=api.headers(approver, purpose))
    assert a.status_code == 200 and a.json()["state"] == "active", a.text
    return a.json()


def test_separation_of_duties(city):
    settings, api, crew, _, _ = city
    own = _place(api, "plate", crew["plate"], user="kezhang01", approver="kezhang01")
    assert own.status_code == 403 and "separation of duties" in own.json()["detail"]
    not_an_approver = _place(api, "plate", crew["plate"], approver="fenxi01")
    assert not_an_approver.status_code == 422 and "approver role" in not_an_approver.json()["detail"]
    w = _place(api, "plate", crew["plate"])
    assert w.status_code == 200 and w.json()["state"] == "pending" and w.json()["placed_by"] == "xingzhen01"
    assert api.post(f"/api/watch/{w.json()['id']}/approve", headers=api.headers("xingzhen01")).status_code == 403
    with pytest.raises(Exception, match="separation of duties"):
        ws.approve(settings, w.json()["id"], "xingzhen01")
    other_purpose = api.post(f"/api/watch/{w.json()['id']}/approve", headers=api.headers("kezhang01", "case:A330200000000002"))
    assert other_purpose.status_code == 403
    assert api.post(f"/api/watch/{w.json()['id']}/revoke", headers=api.headers("xingzhen01")).json()["state"] == "revoked"
    assert api.post("/api/watch", json={"kind": "plate", "value": "not a plate", "reason": "x" * 4,
                                        "expires_at": "2099-01-01T00:00", "approver": "kezhang01"},
                    headers=api.headers("xingzhen01")).status_code == 422  # fmt: skip


def test_the_crew_cars_reads_hit_when_they_land(city):
    """The build path: the removed reads land again (a department's push → clean → model), and
    the approved watch hits exactly the crew car's reads; pending, expired and revoked ones nothing."""
    from zhijing.governance.ingest import ingest_lines
    from zhijing.pipeline import build_and_watch
    from zhijing.sources.spec import load_spec

    settings, api, crew, removed, car = city
    hitting = _approved(api, "plate", crew["plate"])
    pending = _place(api, "plate", crew["plate"]).json()
    expired = _approved(api, "plate", crew["plate"])
    revoked = _approved(api, "plate", crew["plate"])
    assert api.post(f"/api/watch/{revoked['id']}/revoke", headers=api.headers("xingzhen01")).status_code == 200
    with ws.engine(settings).begin() as conn:  # time passes for one of them
        conn.execute(sa.update(ws.watches).where(ws.watches.c.id == expired["id"]).values(expires_at=ws.now() - timedelta(minutes=1)))
    ingest_lines(settings, load_spec(settings).dataset("checkpoint_read"), list(removed.values()), "push:replay", "watch-test-replay")
    _, hits = build_and_watch(settings)
    got = {h["record"] for h in hits if h["watch"] == hitting["id"]}
    clean = {r for (r,) in duckdb.sql(f"SELECT _record_id FROM read_parquet({current_files(settings, 'clean', 'checkpoint_read')!r})").fetchall()}
    truth = car & clean  # a read the lake quarantined is no record to hit
    precision, recall = len(got & truth) / max(1, len(got)), len(got & truth) / max(1, len(truth))
    assert len(truth) >= 21 and precision == 1.0 and recall == 1.0, (precision, recall, len(got), len(truth))
    planted = {r["record_id"] for r in crew["records"] if r["dataset"] == "checkpoint_read"}
    assert planted <= got and next(h for h in hits if h["record"] == "KKOCR0000001")["match"] == "ocr"
    assert {h["watch"] for h in hits} == {hitting["id"]}, "pending, expired and revoked watches hit nothing"
    assert ws.get(settings, expired["id"])["state"] == "expired" and ws.get(settings, pending["id"])["state"] == "pending"
    h = next(h for h in hits if h["record"] in planted)
    assert h["type"] == "pass" and h["match"] == "exact" and h["lon"] and h["lat"] and h["place"] and h["station"]
    _, again = build_and_watch(settings)
    assert not again, "a record hits once"
    listed = api.get("/api/watch/hits", headers=api.headers("xingzhen01")).json()["hits"]
    assert planted <= {x["record"] for x in listed} and all(x["time"].endswith("+08:00") for x in listed if x["time"])


def test_a_read_pushed_over_http_hits_on_the_servers_clock(city):
    """A department's push lands in the clean zone only; the server's minute job builds the
    model from it and matches it (``zhijing serve`` runs it on its clock)."""
    from zhijing.api import scheduler
    from zhijing.governance.ingest import ingest_lines
    from zhijing.sources.spec import load_spec

    settings, api, crew, removed, _ = city
    w = _approved(api, "plate", crew["plate"])
    line = json.dumps({**json.loads(next(iter(removed.values()))), "read_id": "KKPUSH0000001", "plate": crew["plate"]}, ensure_ascii=False)
    ingest_lines(settings, load_spec(settings).dataset("checkpoint_read"), [line], "push:clock", "watch-test-clock")
    assert not ws.hit_rows(settings, [w["id"]])
    assert scheduler.match_watchlist(settings) >= 1
    assert [h["record"] for h in ws.hit_rows(settings, [w["id"]])] == ["KKPUSH0000001"]


def test_live_reads_hit_exactly_and_by_the_ocr_key(city):
    settings, api, crew, removed, _ = city
    w = _approved(api, "plate", crew["plate"])
    row = json.loads(next(iter(removed.values())))
    misread = crew["plate"][:2] + crew["plate"][2:].translate(OCR)
    raw = {"dataset": "checkpoint_read", "row": {**row, "read_id": "KKLIVE0000001", "plate": misread}}
    model_row = {"type": "pass", "dataset": "checkpoint_read", "record_id": "KKLIVE0000002", "ts": "2026-01-05T08:00:00+08:00",
                 "lon": 121.55, "lat": 29.87, "place_kind": "checkpoint", "place_id": row["checkpoint_id"], "vehicle": crew["plate"]}  # fmt: skip
    stranger = {"dataset": "checkpoint_read", "row": {**row, "read_id": "KKLIVE0000003", "plate": "浙B99999"}}
    hits = watch.Matcher(settings).match_messages([raw, model_row, stranger])
    mine = {h["record"]: h for h in hits if h["watch"] == w["id"]}
    assert set(mine) == {"KKLIVE0000001", "KKLIVE0000002"}
    assert mine["KKLIVE0000001"]["match"] == "ocr" and mine["KKLIVE0000002"]["match"] == "exact"
    assert mine["KKLIVE0000001"]["via"] == "stream" and mine["KKLIVE0000001"]["station"]


def test_a_fresh_check_in_hits_the_watched_crew_member_before_any_resolve(city):
    settings, api, crew, _, _ = city
    member = _masters(settings, crew)[1]
    w = _approved(api, "person", member)
    assert w["label"].endswith(member) and "*" in w["label"]
    stay = duckdb.sql(f"SELECT * FROM read_parquet({current_files(settings, 'clean', 'lodging')!r}, union_by_name=true) "
                      f"WHERE 入住单号 = '{_crew_stay(crew)}'").df().iloc[0]  # fmt: skip
    row = {k: (None if pd.isna(v) else str(v)) for k, v in stay.items() if not k.startswith("_") and "__" not in k and k != "month"}
    row |= {"入住单号": "LDLIVE0000001", "入住时间": "2026-01-05 21:00:00", "退房时间": "2026-01-06 09:00:00"}
    hits = [h for h in watch.Matcher(settings).match_messages([{"dataset": "lodging", "row": row}]) if h["watch"] == w["id"]]
    assert len(hits) == 1 and hits[0]["match"] == "citizen_id" and hits[0]["type"] == "stay" and hits[0]["role"] == "guest"


def _crew_stay(crew: dict) -> str:
    """A planted check-in of the crew member second in the truth (a hotel of the series)."""
    return next(r["record_id"] for r in crew["records"] if r["dataset"] == "lodging" and r["person_id"] == crew["members"][1])


PARKING_TYPE = "events:\n  parking: {label: 停车, roles: {vehicle: vehicle, payer: phone}, time: instant, place: required}\n"
PARKING = """name: parking_entry
title: 停车场进出记录
owner: 城管
format: csv
path: parking/entries.csv
key: 流水号
grade: 一般
pi: general
retention_days: 180
fields:
  - {name: 流水号, element: record_id}
  - {name: 车牌号码, element: plate}
  - {name: 入场时间, element: datetime}
  - {name: 停车场, element: text}
  - {name: 经度, element: lon}
  - {name: 纬度, element: lat}
  - {name: 缴费手机, element: phone}
model:
  - {type: parking, roles: {vehicle: 车牌号码, payer: 缴费手机}, time: 入场时间, place: {kind: parking, name: 停车场, lon: 经度, lat: 纬度}}
"""


def test_a_deployments_own_dataset_of_a_type_of_its_own_hits_too(city):
    """A dataset the generator does not make, of a model type the platform does not ship
    (parking entries, declared by the deployment), reaches the watchlist by declaration alone."""
    from zhijing.governance.ingest import ingest_city
    from zhijing.pipeline import build_and_watch

    settings, api, crew, _, _ = city
    plate_watch = _approved(api, "plate", crew["plate"])
    phone_watch = _approved(api, "phone", "13912345678")
    home = Path(settings.home)
    (home / "model").mkdir(exist_ok=True)
    (home / "model" / "parking.yaml").write_text(PARKING_TYPE, encoding="utf-8")
    (home / "sources" / "parking").mkdir(parents=True, exist_ok=True)
    (home / "sources" / "parking_entry.yaml").write_text(PARKING, encoding="utf-8")
    rows = [("P001", crew["plate"], "2026-01-05 07:55:00", "天一广场停车场", "121.553", "29.870", "13800000001"),
            ("P002", "浙B77777", "2026-01-05 08:10:00", "天一广场停车场", "121.553", "29.870", "+86 139-1234-5678"),
            ("P003", "浙B66666", "2026-01-05 08:20:00", "鼓楼停车场", "121.549", "29.875", "13800000002")]  # fmt: skip
    (home / "sources" / "parking" / "entries.csv").write_text(
        "流水号,车牌号码,入场时间,停车场,经度,纬度,缴费手机\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    summary = ingest_city(settings, home / "sources", progress=False, datasets=["parking_entry"])
    assert summary["totals"]["failed"] == 0, summary
    _, hits = build_and_watch(settings)
    got = {(h["watch"], h["record"], h["match"]) for h in hits if h["watch"] in (plate_watch["id"], phone_watch["id"])}
    assert got == {(plate_watch["id"], "P001", "exact"), (phone_watch["id"], "P002", "phone")}
    assert {h["record"] for h in hits} == {"P001", "P002"}, "the third car and phone are watched by no one"
    assert all(h["type"] == "parking" and h["dataset"] == "parking_entry" and h["lon"] for h in hits)
    assert all(h["station"] and len(h["station"]) == 8 for h in hits), "a place of no gazetteer: the jurisdiction it lies in"


def test_a_replayed_read_reaches_the_command_screen_and_one_click_sends_the_nearest_unit(city):
    """The command centre's own watch (placed by its dispatcher, approved by its 指挥长 under
    their duty purpose): a read in intake's replay format on ``cad.reads`` hits, the hit is a
    ``watch.hit`` event on the live bus, and one click makes an urgent incident at the hit's
    place with the recommended units; a second click answers the same incident."""
    import asyncio

    from zhijing.access.guard import load_user
    from zhijing.access.seed import duty_purpose
    from zhijing.command import replay, store
    from zhijing.sources.connectors.stream import MemoryBroker

    settings, api, crew, removed, _ = city
    duty = duty_purpose(load_user(settings, "zhihui01").unit)
    w = _approved(api, "plate", crew["plate"], user="zhihui01", approver="zhihuizhang01", purpose=duty)
    store.seed_units(settings)
    row = json.loads(next(iter(removed.values())))
    seq = store.last_seq(settings)
    read = {"id": "checkpoint_read:KKREPLAY0001", "type": "pass", "dataset": "checkpoint_read", "record": "KKREPLAY0001",
            "time": "2026-01-05T08:00:00+08:00", "vehicle": crew["plate"], "place_id": row["checkpoint_id"], "place_name": "卡口",
            "lon": 121.55, "lat": 29.87}  # fmt: skip
    broker = MemoryBroker()
    asyncio.run(broker.publish(replay.READS, json.dumps(read, ensure_ascii=False).encode()))
    assert asyncio.run(watch.consume(settings, broker, replay.READS)) >= 1
    event = next(e for e in store.events_since(settings, seq, limit=100_000) if e["kind"] == "watch.hit" and e["body"]["watch"] == w["id"])
    body = event["body"]
    assert body["record"] == "KKREPLAY0001" and body["label"] == crew["plate"] and body["time"].endswith("+08:00")
    h = api.headers("zhihui01", duty)
    sent = api.post(f"/api/watch/hits/{body['hit']}/dispatch", headers=h)
    assert sent.status_code == 200, sent.text
    inc = sent.json()["incident"]
    assert inc["source"] == "watch" and inc["priority"] == 1 and (inc["lon"], inc["lat"]) == (121.55, 29.87)
    assert sent.json()["recommendations"] and ws.hit(settings, body["hit"])["incident"] == inc["id"]
    assert api.post(f"/api/watch/hits/{body['hit']}/dispatch", headers=h).json()["incident"]["id"] == inc["id"]
    assert api.post(f"/api/watch/hits/{body['hit']}/dispatch", headers=api.headers("xingzhen01")).status_code == 403  # a case is no order


@pytest.mark.nats
def test_a_read_on_nats_jetstream_hits(city):
    """The live path through NATS JetStream (the server on this machine): a read published on
    ``cad.reads`` hits; the consumer starts at what is published from its start."""
    import asyncio
    import contextlib
    import uuid

    from zhijing.command import replay
    from zhijing.sources.connectors.stream import NatsBroker

    settings, api, crew, _, _ = city
    w = _approved(api, "plate", crew["plate"])
    run = uuid.uuid4().hex[:8]
    read = {"type": "pass", "dataset": "checkpoint_read", "record_id": f"KKNATS{run}", "ts": "2026-01-05T08:00:00+08:00",
            "vehicle": crew["plate"], "lon": 121.55, "lat": 29.87}  # fmt: skip

    async def go() -> int:
        try:
            broker = await NatsBroker("nats://127.0.0.1:4222", replay.STREAM, replay.SUBJECTS).connect()
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"NATS not reachable: {type(exc).__name__}")
        try:
            await replay.ensure_consumer(broker, f"watch-{run}", replay.READS)
            await broker.publish(replay.READS, json.dumps(read).encode(), msg_id=f"watch-test-{run}")
            return await watch.consume(settings, broker, replay.READS, durable=f"watch-{run}")
        finally:
            with contextlib.suppress(Exception):
                await broker.js.delete_consumer(replay.STREAM, f"watch-{run}")
            await broker.close()

    asyncio.run(go())
    assert [h["record"] for h in ws.hit_rows(settings, [w["id"]])] == [f"KKNATS{run}"]


def test_the_auditor_sees_every_watch_and_who_placed_and_approved_it(city):
    settings, api, crew, _, _ = city
    hit = _approved(api, "plate", crew["plate"])
    watch.Matcher(settings).match_messages([{"type": "pass", "dataset": "checkpoint_read", "record": "KKAUDIT0001", "vehicle": crew["plate"]}])
    from zhijing.access.guard import load_user
    from zhijing.access.seed import duty_purpose

    duty = duty_purpose(load_user(settings, "zhihui01").unit)  # a command centre's watch of its own, whatever ran before
    _approved(api, "plate", crew["plate"], user="zhihui01", approver="zhihuizhang01", purpose=duty)
    seen = api.get("/api/watch/oversight", headers=api.headers("ducha01", None))
    assert seen.status_code == 200, seen.text
    all_ids = {w["id"] for w in ws.listed(settings)}
    rows = seen.json()["watches"]
    assert {w["id"] for w in rows} == all_ids and all(w["placed_by"] and w["approver"] for w in rows)
    assert any(w["id"] == hit["id"] and w["approved_by"] == "kezhang01" and w["hits"] == 1 for w in rows)
    assert api.get("/api/watch/oversight", headers=api.headers("xingzhen01", None)).status_code == 403
    # the branch officer sees the branch's watches, not the command centre's; a station's officer neither
    mine = api.get("/api/watch", headers=api.headers("xingzhen01")).json()["watches"]
    branch = {w["id"] for w in ws.listed(settings) if w["placed_by"] == "xingzhen01"}
    assert {w["id"] for w in mine} == branch and branch < all_ids
    from zhijing.access.seed import STATION_CASE

    station = api.get("/api/watch", headers=api.headers("paichusuo01", STATION_CASE))
    assert station.status_code == 200 and station.json()["watches"] == []


def test_hits_are_audited_under_the_watchs_purpose(city):
    from zhijing.access.audit.store import log_for

    settings, _, _, _, _ = city
    events = log_for(settings).events(1000, actor="system:watch")
    purpose = {f"watch:{w['id']}": w["purpose"] for w in ws.listed(settings)}
    assert events and all(purpose[r] == e["purpose"] for e in events for r in e["records"] if r.startswith("watch:"))
    assert {e["purpose"] for e in events} >= {DEMO_CASE} and all(len(e["records"]) >= 2 for e in events)
