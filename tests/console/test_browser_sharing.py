"""The sharing exchange in Debian's Chromium: 卫健委 requests a contract on the console, its
director and the police's 科长 approve it there, the department uses all four services (API),
and the console reports the usage, the batch job's progress and the deliveries."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa
from browser_ui import login, toast

from zhijing.serving import store
from zhijing.serving.tables import persons
from zhijing.standards.citizen_id import normalize

pytestmark = pytest.mark.browser


class _Sink(BaseHTTPRequestHandler):
    got: list[dict] = []

    def do_POST(self):  # noqa: N802
        type(self).got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    with live_server(resolved_city[0].home) as running:
        yield running


@pytest.fixture(scope="module")
def sink():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook"
    srv.shutdown()


def _people(settings) -> list[dict]:
    with store.connect(settings) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(persons).where(persons.c.citizen_id.is_not(None)).limit(100)).mappings()]
    return [r for r in rows if r["name"] and normalize(r["citizen_id"]).value == r["citizen_id"]][:5]


def test_a_contract_is_requested_approved_used_and_reported(page, server, sink, resolved_city):
    from zhijing.config import get_settings
    from zhijing.sharing import subscribe

    base, logins = server
    login(page, server, "weijian01")
    page.goto(f"{base}/sharing")
    page.wait_for_selector("#sh-form input[name=service]")
    page.fill("#sh-title", "死亡注销比对")
    assert page.input_value("#sh-dept") == "卫健委"
    page.fill("#sh-purpose", "参保人员死亡注销与身份核查")
    page.fill("#sh-basis", "《基本医疗卫生与健康促进法》")
    for name, value in (("service", "query"), ("service", "batch"), ("service", "subscribe"), ("event", "death")):
        page.check(f"#sh-form input[name={name}][value={value}]")
    page.fill("#sh-quota", "100")
    page.fill("#sh-expires", (date.today() + timedelta(days=30)).isoformat())
    page.fill("#sh-dept-approver", "weijian02")
    page.fill("#sh-police-approver", "kezhang01")
    page.fill("#sh-endpoint", sink)
    page.click("#sh-submit")
    assert "已提交" in toast(page)
    page.wait_for_selector("#sh-contracts tr[data-contract] [data-state=pending]")
    cid = page.get_attribute("#sh-contracts tr[data-contract]", "data-contract")
    assert not page.locator(f"[data-approve='{cid}']").count()  # the requester cannot approve

    for approver in ("weijian02", "kezhang01"):
        login(page, server, approver)
        page.goto(f"{base}/sharing")
        page.click(f"[data-approve='{cid}']")
        assert "已批准" in toast(page)
    page.wait_for_selector(f"#sh-contracts tr[data-contract='{cid}'] [data-state=active]")

    people = _people(get_settings())
    with httpx.Client(base_url=base, timeout=30) as client:
        tok = client.post("/api/auth/token", data={"username": "weijian01", "password": logins["weijian01"]}).json()["access_token"]
        h = {"Authorization": f"Bearer {tok}", "X-Purpose": f"contract:{cid}"}
        v = client.post("/api/sharing/verify", json={"name": people[0]["name"], "citizen_id": people[0]["citizen_id"]}, headers=h)
        assert v.json() == {"match": True, "differs": []}
        q = client.post("/api/sharing/query", json={"citizen_ids": [people[1]["citizen_id"]]}, headers=h).json()["rows"]
        assert q[0]["found"] and q[0]["name"] == people[1]["name"]
        buf = io.StringIO()
        csv.writer(buf).writerows([("姓名", "公民身份号码"), *((p["name"], p["citizen_id"]) for p in people)])
        job = client.post("/api/sharing/batch", files={"file": ("名单.csv", buf.getvalue().encode())}, headers=h).json()
        sub = client.post("/api/sharing/subscriptions", json={"citizen_ids": [people[2]["citizen_id"]]}, headers=h).json()
        assert sub["delivery"] == "push"
        officer = client.post("/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]}).json()["access_token"]
        client.post("/api/sharing/changes", json={"kind": "death", "citizen_id": people[2]["citizen_id"]},
                    headers={"Authorization": f"Bearer {officer}"}).raise_for_status()  # fmt: skip
        subscribe.deliver_due(get_settings())  # the server's clock does this every second
        assert [g["ref"] for g in _Sink.got] == sub["refs"]
        for _ in range(100):
            if client.get(f"/api/sharing/batch/{job['id']}", headers=h).json()["status"] == "done":
                break
            time.sleep(0.1)

    page.goto(f"{base}/sharing")
    page.select_option("#sh-usage-contract", cid)
    page.wait_for_function("() => +document.getElementById('sh-totals').dataset.calls >= 8")  # 1 + 1 + 5 + 1 persons asked about
    page.wait_for_selector("#sh-usage-chart canvas")
    page.wait_for_selector("#sh-jobs tbody tr [data-state=done]")
    assert page.locator("#sh-jobs progress").first.get_attribute("value") == "100"
    page.wait_for_selector("#sh-deliveries [data-state=delivered]")
    if os.environ.get("ZHIJING_SHOTS"):
        page.screenshot(path=f"{os.environ['ZHIJING_SHOTS']}/sharing.png", full_page=True)
    assert not page.errors, page.errors
