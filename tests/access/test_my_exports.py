"""Export requests as officers find them (issue 21): a requester lists their own requests
under every purpose with their state; 督察 reads every request, read-only; the demo has a
second approver on the burglary case, so the 科长's own request has someone to decide it."""

from __future__ import annotations

from zhijing.access import exports
from zhijing.access.seed import DEMO_CASE
from zhijing.config import get_settings

FRAUD = "case:A330200000000002"


def test_my_requests_under_every_purpose_and_oversight_reads_all(module_api):
    s = get_settings()
    a = exports.create(s, "xingzhen01", "PM00000001", DEMO_CASE, "移送检察院审查起诉", 300, "sensitive")
    b = exports.create(s, "xingzhen01", "report:" + FRAUD, FRAUD, "专案报告报送领导", 12, "internal")
    c = exports.create(s, "kezhang01", "PM00000002", DEMO_CASE, "协查函件附件材料", 5, "secret")
    mine = module_api.get("/api/me/exports", headers=module_api.headers("xingzhen01")).json()["requests"]  # no purpose needed
    by_id = {r["id"]: r for r in mine}
    assert {a["id"], b["id"]} <= set(by_id) and c["id"] not in by_id
    assert (by_id[a["id"]]["status"], by_id[b["id"]]["status"], by_id[b["id"]]["kind"]) == ("pending", "ready", "case_report")
    assert by_id[a["id"]]["requested_at"].endswith("+08:00")  # in the deployment's zone

    every = module_api.get("/api/oversight/exports", headers=module_api.headers("ducha01"))
    assert {a["id"], b["id"], c["id"]} <= {r["id"] for r in every.json()["requests"]}
    pending = module_api.get("/api/oversight/exports", params={"status": "pending"}, headers=module_api.headers("ducha01")).json()
    assert {r["status"] for r in pending["requests"]} == {"pending"}
    assert module_api.get("/api/oversight/exports", headers=module_api.headers("xingzhen01")).status_code == 403
    assert module_api.get("/api/oversight/exports", params={"status": "x"}, headers=module_api.headers("ducha01")).status_code == 422
    read_only = module_api.post(f"/api/exports/{c['id']}/approve", headers=module_api.headers("ducha01", DEMO_CASE))
    assert read_only.status_code == 403  # oversight reads, never decides


def test_the_demo_has_a_second_approver_for_the_chiefs_own_request(module_api):
    caps = {u: module_api.get("/api/me/capabilities", headers=module_api.headers(u, DEMO_CASE)).json()["may"]
            for u in ("kezhang01", "dadui01", "xingzhen01")}  # fmt: skip
    assert caps["kezhang01"]["person.approve"] and caps["dadui01"]["person.approve"] and not caps["xingzhen01"]["person.approve"]
    nav = module_api.get("/api/console/nav", headers=module_api.headers("xingzhen01")).json()["allowed"]
    assert "/exports" in nav  # a requester finds their requests in the menu
    assert "/exports" in module_api.get("/api/console/nav", headers=module_api.headers("ducha01")).json()["allowed"]
