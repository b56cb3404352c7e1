"""Sharing contracts through the API: requested, approved by the named approver of each side
(never the requester), then verification and query under them — each call audited as a
disclosure, the contract's terms enforced."""

from __future__ import annotations

from sharing_kit import TERMS, approved, expiry

from zhijing.access.audit.store import log_for
from zhijing.config import get_settings
from zhijing.sharing.verify import verify_identity


def _other_name(name: str) -> str:
    return name[0] + ("伟" if name[-1] != "伟" else "芳")


def test_contract_needs_both_named_approvers_and_never_the_requester(resolved_api):
    api = resolved_api
    body = {**TERMS, "expires_at": expiry()}
    r = api.post("/api/sharing/contracts", json={**body, "department": "民政局"}, headers=api.headers("weijian01"))
    assert r.status_code == 403  # a department requests for itself only
    r = api.post("/api/sharing/contracts", json={**body, "police_approver": "xingzhen01"}, headers=api.headers("weijian01"))
    assert r.status_code == 422 and "approver" in r.json()["detail"]
    r = api.post("/api/sharing/contracts", json={**body, "fields": ["name", "bank_balance"]}, headers=api.headers("weijian01"))
    assert r.status_code == 422 and "bank_balance" in r.json()["detail"]
    c = api.post("/api/sharing/contracts", json=body, headers=api.headers("weijian01")).json()
    assert c["state"] == "pending" and c["requested_by"] == "weijian01"
    assert api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers("weijian01")).status_code == 403
    assert api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers("zhihuizhang01")).status_code == 403  # not named
    assert api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers("kezhang01")).json()["state"] == "pending"
    assert api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers("kezhang01")).status_code == 409
    got = api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers("weijian02")).json()
    assert got["state"] == "active" and got["dept_approved_at"] and got["police_approved_at"]
    listed = api.get("/api/sharing/catalog", headers=api.headers("paichusuo01")).json()["datasets"]
    assert any(x["id"] == c["id"] for x in listed["hukou_person"])


def test_verification_answers_yes_or_which_attribute_differs_and_is_audited(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    p = residents[0]
    r = api.post("/api/sharing/verify", json={"name": p["name"], "citizen_id": p["citizen_id"]}, headers=h)
    assert r.status_code == 200 and r.json() == {"match": True, "differs": []}
    r = api.post("/api/sharing/verify", json={"name": _other_name(p["name"]), "citizen_id": p["citizen_id"],
                                              "attributes": {"sex": "女" if p["sex"] == "男" else "男"}}, headers=h)  # fmt: skip
    assert r.json() == {"match": False, "differs": ["name", "sex"]}
    last = log_for(get_settings()).all_events()[-1]
    assert (last["actor"], last["operation"], last["purpose"], last["records"]) == ("weijian01", "disclose", c["ref"], [p["master_id"]])
    assert "stated name,citizen_id,sex" in last["query"] and p["name"] not in last["query"]
    r = api.post("/api/sharing/verify", json={"name": "张三", "citizen_id": "110101199003070000"}, headers=h)
    assert r.status_code == 422 and "citizen ID" in r.json()["detail"] and "1101" not in r.json()["detail"]
    r = api.post("/api/sharing/verify", json={"name": p["name"], "citizen_id": p["citizen_id"], "attributes": {"phone": "13800000000"}},
                 headers=h)  # fmt: skip
    assert r.status_code == 403 and "outside the contract" in r.json()["detail"]
    assert log_for(get_settings()).all_events()[-1]["outcome"] == "refused"
    assert verify_identity(get_settings(), p["name"], p["citizen_id"]).match  # the citizen services' in-process call


def test_query_gives_the_contract_fields_masked_by_grade(resolved_api, residents):
    api = resolved_api
    c = approved(api)
    h = api.headers("weijian01", c["ref"])
    ids = [residents[1]["citizen_id"], residents[2]["citizen_id"], "110101199003070000"]
    rows = api.post("/api/sharing/query", json={"citizen_ids": ids}, headers=h).json()["rows"]
    assert [r["found"] for r in rows] == [True, True, False] and rows[2]["error"]
    assert set(rows[0]) == {"asked", "found", *TERMS["fields"]}
    assert rows[0]["name"] == residents[1]["name"] and "*" in rows[0]["birth_date"]  # sensitive above clearance 1: masked
    r = api.post("/api/sharing/query", json={"citizen_ids": ids[:1], "fields": ["phone"]}, headers=h)
    assert r.status_code == 403 and "phone" in r.json()["detail"]


def test_expired_revoked_exhausted_and_another_departments_contract_are_refused(resolved_api, residents):
    api = resolved_api
    p = residents[3]
    ask = {"name": p["name"], "citizen_id": p["citizen_id"]}
    small = approved(api, daily_quota=2)
    h = api.headers("weijian01", small["ref"])
    assert [api.post("/api/sharing/verify", json=ask, headers=h).status_code for _ in range(3)] == [200, 200, 429]
    usage = api.get(f"/api/sharing/contracts/{small['id']}", headers=api.headers("kezhang01")).json()["usage"]
    assert usage["totals"] == {"calls": 2, "hits": 2, "refusals": 1}
    revoked = approved(api)
    r = api.post(f"/api/sharing/contracts/{revoked['id']}/revoke", json={"reason": "协议终止"}, headers=api.headers("kezhang01"))
    assert r.json()["state"] == "revoked"
    r = api.post("/api/sharing/verify", json=ask, headers=api.headers("weijian01", revoked["ref"]))
    assert r.status_code == 403 and "closed" in r.json()["detail"]
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from zhijing.sharing import contracts

    gone = approved(api)
    with contracts.engine(get_settings()).begin() as conn:  # a contract whose term ran out
        conn.execute(sa.update(contracts.contracts).where(contracts.contracts.c.id == gone["id"])
                     .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
    r = api.post("/api/sharing/verify", json=ask, headers=api.headers("weijian01", gone["ref"]))
    assert r.status_code == 403 and "expired" in r.json()["detail"]
    mine = approved(api)
    r = api.post("/api/sharing/verify", json=ask, headers=api.headers("xingzhen01", mine["ref"]))  # not the department's
    assert r.status_code == 403
