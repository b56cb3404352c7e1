"""Batch comparison, subscription and the enumeration watch through the API: a list compared
in the background and its result disclosed (audited person by person); a bad file refused
with one line and nothing kept; changes pushed at least once with retries, or pulled from the
feed; ID probing throttled and flagged for 督察."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sqlalchemy as sa
from openpyxl import Workbook
from sharing_kit import approved

from zhijing.access.audit.store import log_for
from zhijing.config import SharingSettings, get_settings
from zhijing.errors import ZhijingError
from zhijing.sharing import batch, contracts, service, subscribe
from zhijing.standards.citizen_id import make


def _wait(api, h, job_id: int) -> dict:
    for _ in range(200):
        job = api.get(f"/api/sharing/batch/{job_id}", headers=h).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("the job did not end")


def _csv(rows: list[tuple[str, str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows([("序号", "姓名", "公民身份号码"), *((i, n, c) for i, (n, c) in enumerate(rows, 1))])
    return buf.getvalue().encode("utf-8")


def test_batch_compares_a_list_and_discloses_it_audited(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    p = residents[10:14]
    unknown = make("330203", __import__("datetime").date(1990, 1, 1), 997)
    rows = [(p[0]["name"], p[0]["citizen_id"]), (p[1]["name"], p[1]["citizen_id"]), ("=冒名", p[2]["citizen_id"]),
            ("某人", unknown), ("坏号", "33020319900101123X")]  # fmt: skip
    r = api.post("/api/sharing/batch", files={"file": ("名单.csv", _csv(rows), "text/csv")}, headers=h)
    assert r.status_code == 202, r.text
    job = _wait(api, h, r.json()["id"])
    assert (job["status"], job["rows"], job["matched"], job["found"]) == ("done", 5, 2, 3), job
    assert not list(batch.folder(get_settings()).glob("*.upload"))  # the upload is gone once the job ended
    got = api.get(f"/api/sharing/batch/{job['id']}/result", headers=h)
    lines = got.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("# 智警导出 weijian01") and lines[-1].endswith("共 5 行")
    table = list(csv.DictReader(lines[1:-1]))
    assert [t["核查结果"] for t in table] == ["一致", "一致", "不一致", "查无此人", "号码无效"]
    assert table[2]["提交姓名"] == "'=冒名" and table[2]["不一致项"] == "name"  # no cell starts a formula
    assert table[0]["姓名"] == p[0]["name"] and "*" in table[0]["出生日期"]  # sensitive: masked above clearance 1
    disclosed = [e for e in log_for(get_settings()).all_events() if e["purpose"] == c["ref"] and e["operation"] == "disclose"]
    assert {p[0]["master_id"], p[1]["master_id"], p[2]["master_id"]} <= {m for e in disclosed for m in e["records"]}
    listed = api.get("/api/sharing/jobs", headers=api.headers("kezhang01")).json()["jobs"]
    assert any(j["id"] == job["id"] and j["done"] == 5 for j in listed)
    from datetime import UTC, datetime, timedelta

    assert batch.purge(get_settings(), datetime.now(UTC) + timedelta(days=2)) >= 1
    assert api.get(f"/api/sharing/batch/{job['id']}", headers=h).json()["status"] == "purged"
    assert not list(batch.folder(get_settings()).glob(f"*{job['id']}*"))
    assert api.get(f"/api/sharing/batch/{job['id']}/result", headers=h).status_code == 409


def test_an_excel_list_is_compared_too(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    wb = Workbook()
    wb.active.append(["姓名", "身份证号"])
    for p in residents[20:23]:
        wb.active.append([p["name"], p["citizen_id"]])
    buf = io.BytesIO()
    wb.save(buf)
    r = api.post("/api/sharing/batch", files={"file": ("list.xlsx", buf.getvalue())}, headers=h)
    assert r.status_code == 202, r.text
    job = _wait(api, h, r.json()["id"])
    assert (job["status"], job["rows"], job["matched"]) == ("done", 3, 3)


def test_a_bad_file_is_one_line_and_nothing_is_kept(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    before = sorted(batch.folder(get_settings()).iterdir())
    for name, content, says in [("a.pdf", b"%PDF-1.4", ".csv or .xlsx"), ("a.csv", b"foo,bar\n1,2\n", "ID column"),
                                ("a.csv", b"", "empty"), ("a.xlsx", b"PK\x03\x04 not really", "readable XLSX")]:  # fmt: skip
        r = api.post("/api/sharing/batch", files={"file": (name, content)}, headers=h)
        assert r.status_code == 422 and says in r.json()["detail"] and "\n" not in r.json()["detail"], (name, r.text)
    assert sorted(batch.folder(get_settings()).iterdir()) == before
    small = get_settings().model_copy(update={"sharing": SharingSettings(batch_max_bytes=64, batch_max_rows=2)})
    contract = contracts.get(get_settings(), c["id"])
    who = service.Caller("weijian01", "卫健委", 1)
    try:
        batch.accept(small, contract, who, "big.csv", iter([_csv([("某", "1" * 18)] * 10)]))
        raise AssertionError("an oversized file was accepted")
    except ZhijingError as exc:
        assert "larger than 64 bytes" in str(exc)
    job = batch.accept(get_settings(), contract, who, "rows.csv", iter([_csv([(p["name"], p["citizen_id"]) for p in residents[:3]])]))
    batch.run(small, job["id"])  # more rows than the limit: the job fails, nothing kept
    failed = batch.get(get_settings(), job["id"])
    assert failed["status"] == "failed" and "at most 2" in failed["error"]
    assert sorted(batch.folder(get_settings()).iterdir()) == before


class _Endpoint(BaseHTTPRequestHandler):
    got: list[dict] = []
    mode = "ok"  # ok | fail | slow

    def do_POST(self):  # noqa: N802 — the http.server name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.mode == "slow":
            time.sleep(1.5)
        type(self).got.append({**body, "delivery_header": self.headers["X-Zhijing-Delivery"]})
        self.send_response(500 if self.mode == "fail" else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve(mode: str) -> tuple[ThreadingHTTPServer, type]:
    handler = type(f"E{mode}", (_Endpoint,), {"got": [], "mode": mode})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, handler


def test_changes_are_pushed_at_least_once_and_failures_show(resolved_api, residents):
    api = resolved_api
    servers = {m: _serve(m) for m in ("ok", "fail", "slow")}
    try:
        made = {m: approved(api, endpoint=f"http://127.0.0.1:{srv.server_address[1]}/hook") for m, (srv, _) in servers.items()}
        p, other = residents[30], residents[31]
        refs = {}
        for m, c in made.items():
            r = api.post("/api/sharing/subscriptions", json={"citizen_ids": [p["citizen_id"]]},
                         headers=api.headers("weijian01", c["ref"]))  # fmt: skip
            assert r.json()["added"] == 1 and r.json()["delivery"] == "push"
            refs[m] = r.json()["refs"][0]
        officer = api.headers("xingzhen01")
        assert api.post("/api/sharing/changes", json={"kind": "death", "citizen_id": other["citizen_id"]}, headers=officer).json()["deliveries"] == []
        assert api.post("/api/sharing/changes", json={"kind": "death", "citizen_id": p["citizen_id"]},
                        headers=api.headers("weijian01")).status_code == 403  # a department does not register changes
        seq = api.post("/api/sharing/changes", json={"kind": "death", "citizen_id": p["citizen_id"]}, headers=officer).json()["seq"]
        quick = get_settings().model_copy(update={"sharing": SharingSettings(delivery_attempts=3, delivery_backoff_s=0, delivery_timeout_s=0.5)})
        for _ in range(3):
            subscribe.deliver_due(quick)
        ok, fail, slow = (servers[m][1] for m in ("ok", "fail", "slow"))
        assert [(g["seq"], g["kind"], g["ref"]) for g in ok.got] == [(seq, "death", refs["ok"])]
        assert ok.got[0]["citizen_id"].endswith(p["citizen_id"][-4:]) and "*" in ok.got[0]["citizen_id"]  # the ID goes masked
        assert ok.got[0]["delivery_header"] == str(ok.got[0]["delivery"])
        assert len(fail.got) == 3  # tried three times, then failed
        states = {d["contract_id"]: d for d in api.get("/api/sharing/deliveries", headers=api.headers("kezhang01")).json()["deliveries"]}
        assert states[made["ok"]["id"]]["status"] == "delivered"
        assert (states[made["fail"]["id"]]["status"], states[made["fail"]["id"]]["last_error"]) == ("failed", "HTTP 500")
        assert (states[made["slow"]["id"]]["status"], states[made["slow"]["id"]]["last_error"]) == ("failed", "timed out")
        r = api.post("/api/sharing/verify", json={"name": p["name"], "citizen_id": p["citizen_id"]},
                     headers=api.headers("weijian01", made["ok"]["ref"]))  # fmt: skip
        assert r.json() == {"match": False, "differs": ["living"]}  # a registered death: no longer a living person
    finally:
        for srv, _ in servers.values():
            srv.shutdown()


def test_changes_are_pulled_from_the_feed_and_found_in_the_store(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    p = residents[40]
    ref = api.post("/api/sharing/subscriptions", json={"citizen_ids": [p["citizen_id"]]}, headers=h).json()["refs"][0]
    subscribe.detect(get_settings())  # first sight: remembered only
    with contracts.engine(get_settings()).begin() as conn:  # as if the store had shown them elsewhere, with a car since sold
        conn.execute(sa.update(subscribe.state).where(subscribe.state.c.citizen_id == p["citizen_id"])
                     .values(district="某县", vehicles=json.dumps(["浙B00000"])))  # fmt: skip
    assert len(subscribe.detect(get_settings())) == 2
    feed = api.get("/api/sharing/feed", params={"after": 0}, headers=h).json()
    kinds = [(x["kind"], x["ref"], x["detail"]) for x in feed["changes"]]
    assert kinds == [("move_out", ref, {"from": "某县", "to": p["district"]}), ("vehicle_transfer", ref, {"plate": "浙B00000"})], feed
    assert api.get("/api/sharing/feed", params={"after": feed["next"]}, headers=h).json()["changes"] == []


def test_sequential_probing_is_throttled_and_flagged(resolved_api):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    import datetime as dt

    codes = [api.post("/api/sharing/verify", json={"name": "张三", "citizen_id": make("330203", dt.date(1985, 5, 5), s)},
                      headers=h).status_code for s in range(100, 115)]  # fmt: skip
    assert codes[:9] == [200] * 9 and codes[9] == 429 and set(codes[10:]) == {429}
    r = api.post("/api/sharing/verify", json={"name": "张三", "citizen_id": make("330203", dt.date(1970, 1, 1), 5)}, headers=h)
    assert r.status_code == 429 and "throttled" in r.json()["detail"]
    flags = api.get("/api/oversight/flags", headers=api.headers("ducha01")).json()["flags"]
    assert any(f["rule"] == "enumeration" and f["subject"] == c["ref"] and f["actor"] == "weijian01" for f in flags)
    assert contracts.get(get_settings(), c["id"]).throttled_until is not None


def test_random_probing_is_throttled(resolved_api, residents):
    api = resolved_api
    c = approved(api, daily_quota=1000)
    h = api.headers("weijian01", c["ref"])
    import datetime as dt
    import random

    rnd = random.Random(5)
    codes = []
    for i in range(100):
        if i % 3 == 0:
            p = residents[i % len(residents)]
            body = {"name": p["name"], "citizen_id": p["citizen_id"]}
        else:
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rnd.randrange(20000))
            body = {"name": "王五", "citizen_id": make(rnd.choice(["330203", "330205", "330211"]), born, rnd.randrange(1, 999))}
        codes.append(api.post("/api/sharing/verify", json=body, headers=h).status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and len(codes) == 100
