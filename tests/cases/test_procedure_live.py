"""Live case handling on the store: 受案 opens a numbered case and its purpose; a step that
needs approval is asked for and takes effect when an approver of the right rank approves it;
documents are numbered, signed by the approver, versioned, watermarked, and refused for the
wrong state; every change is audited."""

from __future__ import annotations

import pytest

from zhijing.access.seed import add_unit, add_user
from zhijing.cases.procedure import documents, service, store
from zhijing.cases.procedure.machine import Refused

PW = "a-long-password-1"


@pytest.fixture()
def org(settings):
    add_unit(settings, "330200000000", "宁波市公安局", "市局")
    add_unit(settings, "330212000000", "鄞州区分局", "分局", "330200000000")
    add_unit(settings, "330212010000", "鄞州区第1派出所", "派出所", "330212000000")
    add_user(settings, "xingjing", "陈刑警", "330212000000", "刑侦", PW, clearance=2)
    add_user(settings, "kezhang", "刘科长", "330212000000", "刑侦", PW, roles="officer,approver", clearance=3)
    add_user(settings, "suozhang", "王所长", "330212010000", "治安", PW, roles="officer,approver", clearance=2)
    add_user(settings, "boss2", "赵局长", "330212000000", "刑侦", PW, roles="officer,approver", clearance=3)
    return settings


class Audit(list):
    def __call__(self, operation, records, query):
        self.append((operation, tuple(records), query))


def test_case_from_acceptance_to_prosecution(org):
    audit = Audit()
    cid = service.open_case(org, kind="criminal", title="张某盗窃案", unit_code="330212000000", handler="xingjing",
                            purpose="群众报案", audit=audit, category="盗窃", persons=["P1"], facts={"summary": "入室盗窃"})
    assert cid.startswith("AJ3302122026") or cid.startswith("AJ330212")
    with pytest.raises(Refused, match="transition"):  # refused when asked, before any approver sees it
        service.request(org, cid, "侦查终结", actor="xingjing", purpose="x", audit=audit)
    assert service.request(org, cid, "立案", actor="xingjing", purpose="有犯罪事实", audit=audit) == {"pending": 1}
    with pytest.raises(Refused, match="approval"):  # a station head is no 县级以上公安机关负责人
        service.approve(org, 1, approver="suozhang", audit=audit)
    with pytest.raises(Refused, match="separation_of_duties"):
        service.approve(org, 1, approver="xingjing", audit=audit)
    service.approve(org, 1, approver="kezhang", audit=audit)
    doc = documents.issue(org, cid, "立案决定书", by="xingjing")
    assert doc["signer"] == "kezhang" and "立字〔" in doc["number"] and documents.verify(org, doc["id"])
    again = documents.issue(org, cid, "立案决定书", by="xingjing")
    assert again["number"] == doc["number"] and again["version"] == 2
    with pytest.raises(Refused, match="document_state"):
        documents.issue(org, cid, "起诉意见书", by="xingjing")
    with pytest.raises(Refused, match="document_state"):
        documents.issue(org, cid, "拘留证", by="xingjing", person="P1")
    p = service.request(org, cid, "拘留", actor="xingjing", purpose="现行犯", audit=audit, person="P1")["pending"]
    service.approve(org, p, approver="boss2", audit=audit)
    warrant = documents.issue(org, cid, "拘留证", by="xingjing", person="P1")
    assert warrant["signer"] == "boss2" and "拘字" in warrant["number"]
    meta, html = documents.view(org, warrant["id"], "ducha01", "case:" + cid)
    assert "ducha01" in meta["watermark"] and "ducha01" in html and "拘留证" in html
    p = service.request(org, cid, "延长拘留", actor="xingjing", purpose="再延", audit=audit, person="P1", condition="结伙作案")["pending"]
    service.approve(org, p, approver="kezhang", audit=audit)
    for action, person in (("提请批准逮捕", "P1"),):
        service.approve(org, service.request(org, cid, action, actor="xingjing", purpose="p", audit=audit, person=person)["pending"],
                        approver="kezhang", audit=audit)
    service.approve(org, service.request(org, cid, "批准逮捕", actor="xingjing", purpose="检察院决定", audit=audit, person="P1")["pending"],
                    approver="kezhang", audit=audit, decision_ref="甬鄞检批捕〔2026〕1号")
    for action in ("侦查终结", "移送审查起诉"):
        service.approve(org, service.request(org, cid, action, actor="xingjing", purpose="p", audit=audit)["pending"],
                        approver="boss2", audit=audit)
    assert documents.issue(org, cid, "起诉意见书", by="xingjing")["signer"] == "boss2"
    detail = store.case_detail(org, cid)
    assert detail["case"]["state"] == "移送审查起诉" and detail["case"]["closed_at"] is not None
    assert [s["action"] for s in detail["steps"]] == ["受案", "立案", "拘留", "延长拘留", "提请批准逮捕", "批准逮捕", "侦查终结", "移送审查起诉"]
    assert {s["approval_ok"] for s in detail["steps"]} == {True}
    assert ("alter", ("P1",), f"procedure {cid} 拘留") in audit
    assert service.pending_for(org, cid) == []


def test_workspace_link(org):
    audit = Audit()
    cid = service.open_case(org, kind="administrative", title="殴打他人案", unit_code="330212010000", handler="xingjing",
                            purpose="报警", audit=audit, workspace_ref="case:A330200000000004")
    assert service.case_of_workspace(org, "case:A330200000000004") == [cid]
    assert cid.startswith("XZ330212")
