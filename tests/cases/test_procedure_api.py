"""The procedure over the API: a handler opens a case and works it under the case's purpose,
the 科长 approves (the handler cannot), a document for the wrong state is a 422 naming the
rule, the document is watermarked for its viewer; 法制 / 督察 read the flags and the procedure
without a purpose but no person's file."""

from __future__ import annotations

from zhijing.access.seed import DEMO_CASE


def test_case_over_the_api(api):
    h = api.headers("xingzhen01")
    r = api.post("/api/procedure/cases", headers=h, json={"kind": "criminal", "title": "入室盗窃案", "category": "盗窃",
                                                          "persons": ["P9"], "reason": "群众报案", "summary": "夜间入室"})  # fmt: skip
    assert r.status_code == 200, r.text
    cid, purpose = r.json()["id"], r.json()["purpose"]
    hp = api.headers("xingzhen01", purpose)
    assert api.get(f"/api/procedure/cases/{cid}", headers=h).status_code == 403  # no purpose
    assert api.get(f"/api/procedure/cases/{cid}", headers=api.headers("xingzhen01", DEMO_CASE)).status_code == 403  # another case
    detail = api.get(f"/api/procedure/cases/{cid}", headers=hp).json()
    assert detail["case"]["state"] == "受案" and detail["limits"][0]["countdown"] == "running" and "立案" in detail["next"]["case"]
    bad = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json={"action": "移送审查起诉", "reason": "x"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("transition")  # refused when asked, with the rule
    req = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json={"action": "立案", "reason": "有犯罪事实"}).json()["pending"]
    assert api.post(f"/api/procedure/requests/{req}/approve", headers=h, json={}).status_code == 403  # no approver role
    queue = api.get("/api/procedure/requests", headers=api.headers("kezhang01")).json()["requests"]
    assert [(q["id"], q["case_title"]) for q in queue] == [(req, "入室盗窃案")]
    ok = api.post(f"/api/procedure/requests/{req}/approve", headers=api.headers("kezhang01"), json={})
    assert ok.status_code == 200, ok.text
    assert api.post(f"/api/procedure/requests/{req}/approve", headers=api.headers("kezhang01"), json={}).status_code == 404  # decided
    ask = {"action": "传唤", "person": "P9", "reason": "讯问"}
    summon = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json=ask).json()["pending"]
    api.post(f"/api/procedure/requests/{summon}/approve", headers=api.headers("kezhang01"), json={})
    no_condition = {"action": "延长传唤", "person": "P9", "reason": "案情复杂"}
    r = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json=no_condition)
    assert r.status_code == 422 and r.json()["detail"].startswith("extension_condition")
    back = {"action": "传唤结束", "person": "P9", "reason": "问毕", "at": "2026-01-01T08:00:00+08:00"}
    r = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json=back)
    assert r.status_code == 422 and r.json()["detail"].startswith("backdating")
    r = api.post(f"/api/procedure/cases/{cid}/requests", headers=hp, json={**back, "at": None})
    assert r.json()["step"]["to_state"] == "无"
    mine = api.get("/api/procedure/deadlines", headers=h).json()["deadlines"]
    assert mine == [] or all("person" not in d for d in mine)
    doc = api.post(f"/api/procedure/cases/{cid}/documents", headers=hp, json={"kind": "起诉意见书"})
    assert doc.status_code == 422 and "document_state" in doc.json()["detail"]
    doc = api.post(f"/api/procedure/cases/{cid}/documents", headers=hp, json={"kind": "立案决定书"}).json()
    page = api.get(f"/api/procedure/documents/{doc['id']}", headers=hp)
    assert page.status_code == 200 and "xingzhen01" in page.text and page.headers["x-document-verified"] == "true"


def test_workspace_names_its_procedure_case(api):
    h = api.headers("xingzhen01")
    r = api.post("/api/procedure/cases", headers=h, json={"kind": "criminal", "title": "系列盗窃案", "reason": "并案侦查",
                                                          "workspace_ref": DEMO_CASE})  # fmt: skip
    assert r.json()["purpose"] == DEMO_CASE
    hp = api.headers("xingzhen01", DEMO_CASE)
    assert api.get(f"/api/cases/{DEMO_CASE}", headers=hp).json()["procedure"] == [r.json()["id"]]
    assert api.get(f"/api/procedure/cases/{r.json()['id']}", headers=hp).status_code == 200  # the 专案's purpose opens it


def test_supervisors_read_flags_not_persons(api):
    for user in ("fazhi01", "ducha01"):
        h = api.headers(user)
        assert api.post("/api/procedure/supervision/run", headers=h).status_code == 200
        assert api.get("/api/procedure/supervision/flags", headers=h).status_code == 200
        assert api.get("/api/persons/P1", headers=h).status_code == 403
    assert api.get("/api/procedure/supervision/flags", headers=api.headers("xingzhen01")).status_code == 403


def test_hostile_ids_are_clear_refusals(api):
    h = api.headers("kezhang01")
    for method, path in (("GET", "/api/procedure/cases/%2e%2e"), ("GET", "/api/procedure/cases/AJ1"), ("GET", "/api/procedure/documents/-1"),
                         ("GET", "/api/procedure/documents/9223372036854775808"), ("POST", "/api/procedure/requests/1e20/approve"),
                         ("GET", "/api/procedure/supervision/cases/.lock"), ("GET", "/api/procedure/requests?limit=-1")):  # fmt: skip
        r = api.request(method, path, headers=h, json={})
        assert r.status_code in (403, 404, 422), (path, r.status_code)
        assert len(r.text) < 600
    r = api.post("/api/procedure/requests/99/approve", headers=h, json={})
    assert r.status_code == 404 and r.json() == {"detail": "no pending request 99"}
