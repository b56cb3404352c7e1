"""Exports with a stated reason and, above a configurable size or grade, a second
officer's approval (双人审批, DESIGN.md §2.8) recorded in the audit trail; then one download."""

from __future__ import annotations

import duckdb

from zhijing.access.exports import needs_approval
from zhijing.access.seed import DEMO_CASE
from zhijing.config import ExportSettings, Settings
from zhijing.lake.store import current_files

REASON = "移送检察院审查起诉"


def _master(settings) -> str:
    """A well-documented person (not the one test_export.py exports: the trail is shared)."""
    files = current_files(settings, "entities", "persons_master")
    return duckdb.sql(f"SELECT master_id FROM read_parquet({files!r}) WHERE citizen_id IS NOT NULL "
                      "ORDER BY mentions DESC, master_id LIMIT 1 OFFSET 1").fetchall()[0][0]  # fmt: skip


def test_the_approval_threshold_is_configurable():
    s = Settings(exports=ExportSettings(approval_rows=50, approval_grade="secret"))
    assert not needs_approval(s, 50, "sensitive") and needs_approval(s, 51, "internal") and needs_approval(s, 1, "secret")
    assert needs_approval(Settings(exports=ExportSettings(approval_grade="sensitive")), 1, "sensitive")


def test_an_export_states_its_reason(resolved_city, make_api):
    api = make_api(resolved_city[0].home)
    from zhijing.config import get_settings

    mid = _master(get_settings())
    h = api.headers("xingzhen01", DEMO_CASE)
    for reason in (None, "", "  查  "):
        r = api.get(f"/api/persons/{mid}/export", params={"reason": reason} if reason is not None else {}, headers=h)
        assert r.status_code == 422 and "reason" in r.json()["detail"]
    assert api.post("/api/exports", json={"master_id": mid, "reason": "查"}, headers=h).status_code == 422
    assert api.get(f"/api/persons/{mid}/export", params={"reason": REASON}, headers=h).status_code == 200


def test_a_sensitive_export_waits_for_a_second_officer(resolved_city, make_api, monkeypatch):
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings

    monkeypatch.setenv("ZHIJING_EXPORTS__APPROVAL_GRADE", "sensitive")  # clearance 2 shows sensitive fields
    api = make_api(resolved_city[0].home)
    s = get_settings()
    mid = _master(s)
    officer, chief = api.headers("xingzhen01", DEMO_CASE), api.headers("kezhang01", DEMO_CASE)

    direct = api.get(f"/api/persons/{mid}/export", params={"reason": REASON}, headers=officer)
    assert direct.status_code == 403 and "双人审批" in direct.json()["detail"]
    req = api.post("/api/exports", json={"master_id": mid, "reason": REASON}, headers=officer).json()
    assert (req["status"], req["needs_approval"], req["grade"]) == ("pending", True, "sensitive")
    rid = req["id"]
    assert api.get(f"/api/exports/{rid}/download", headers=officer).status_code == 403  # not yet approved
    assert api.post(f"/api/exports/{rid}/approve", headers=officer).status_code == 403  # not an approver
    assert api.post(f"/api/exports/{rid}/approve", headers=api.headers("ducha01", DEMO_CASE)).status_code == 403
    own = api.post("/api/exports", json={"master_id": mid, "reason": REASON}, headers=chief).json()
    assert api.post(f"/api/exports/{own['id']}/approve", headers=chief).status_code == 403  # never one's own
    assert rid in {r["id"] for r in api.get("/api/exports", headers=chief).json()["requests"]}

    ok = api.post(f"/api/exports/{rid}/approve", headers=chief)
    assert ok.status_code == 200 and (ok.json()["status"], ok.json()["approved_by"]) == ("ready", "kezhang01")
    assert api.get(f"/api/exports/{rid}/download", headers=chief).status_code == 404  # the requester's alone
    got = api.get(f"/api/exports/{rid}/download", headers=officer)
    assert got.status_code == 200 and "导出编号" in got.text.lstrip("\ufeff").splitlines()[0]
    assert api.get(f"/api/exports/{rid}/download", headers=officer).status_code == 403  # once

    trail = log_for(s).events(40)
    approved = [e for e in trail if e["actor"] == "kezhang01" and e["query"] == f"export approve {rid} requested by xingzhen01"]
    assert approved and approved[0]["operation"] == "alter" and approved[0]["outcome"] == "allowed"
    disclosed = [e for e in trail if e["operation"] == "disclose" and e["outcome"] == "allowed" and f"request {rid}" in e["query"]]
    assert len(disclosed) == 1 and disclosed[0]["query"].endswith("approved by kezhang01") and disclosed[0]["records"] == [mid]
    assert log_for(s).verify().ok


def test_an_approver_rejects_with_a_stated_reason(resolved_city, make_api, monkeypatch):
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings

    monkeypatch.setenv("ZHIJING_EXPORTS__APPROVAL_GRADE", "sensitive")
    api = make_api(resolved_city[0].home)
    s = get_settings()
    mid = _master(s)
    officer, chief = api.headers("xingzhen01", DEMO_CASE), api.headers("kezhang01", DEMO_CASE)
    rid = api.post("/api/exports", json={"master_id": mid, "reason": REASON}, headers=officer).json()["id"]
    assert api.post(f"/api/exports/{rid}/reject", json={"reason": "不足"}, headers=officer).status_code == 403  # not an approver
    assert api.post(f"/api/exports/{rid}/reject", json={"reason": "查"}, headers=chief).status_code == 422  # a reason worth the name
    no = api.post(f"/api/exports/{rid}/reject", json={"reason": "事由不足以导出全档"}, headers=chief)
    assert no.status_code == 200 and (no.json()["status"], no.json()["rejected_by"]) == ("rejected", "kezhang01")
    mine = {r["id"]: r for r in api.get("/api/exports", headers=officer).json()["requests"]}
    assert mine[rid]["status"] == "rejected" and mine[rid]["reject_reason"] == "事由不足以导出全档"  # the requester reads why
    assert rid not in {r["id"] for r in api.get("/api/exports", headers=chief).json()["requests"]}  # no longer waiting
    assert api.post(f"/api/exports/{rid}/approve", headers=chief).status_code == 404  # decided once
    assert api.get(f"/api/exports/{rid}/download", headers=officer).status_code == 403
    own = api.post("/api/exports", json={"master_id": mid, "reason": REASON}, headers=chief).json()["id"]
    assert api.post(f"/api/exports/{own}/reject", json={"reason": "撤回本人申请"}, headers=chief).status_code == 403  # never one's own
    trail = log_for(s).events(40)
    assert any(e["actor"] == "kezhang01" and e["operation"] == "alter" and e["query"].startswith(f"export reject {rid}") for e in trail)
