"""Seized property (涉案财物): intake with a QR label and photos, a custody chain whose every
edit in the database is found (a column, a body, a re-chained tail, a deleted entry), return
and disposal only by a second officer's approval (never the seizing officer's or the
requester's), no move after disposal, no back-dated step, and supervision's flags."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhijing.access.seed import DEMO_CASE


@pytest.fixture(scope="module")
def api(module_api):
    return module_api


def _h(api, user: str, purpose: str | None = DEMO_CASE) -> dict:
    return api.headers(user, purpose)


def _room(api, user: str = "xingzhen01") -> str:
    r = api.get("/api/property/locations", headers=_h(api, user, None))
    assert r.status_code == 200, r.text
    return next(loc["code"] for loc in r.json()["locations"] if loc["kind"] == "room")


def _intake(api, user: str = "xingzhen01", **extra) -> dict:
    body = {"description": "黑色华为手机一部", "category": "phone", "quantity": "1部", "location": _room(api), **extra}
    r = api.post("/api/property", json=body, headers=_h(api, user))
    assert r.status_code == 200, r.text
    return r.json()


def _verify(api) -> dict:
    r = api.get("/api/property/supervision/verify", headers=_h(api, "ducha01", None))
    assert r.status_code == 200, r.text
    return r.json()


def test_intake_label_photo_and_moves_make_a_verified_chain(api):
    it = _intake(api)
    pid, h = it["id"], _h(api, "xingzhen01")
    assert it["number"].startswith("SW") and it["state"] == "in_custody" and it["holder"] == "xingzhen01"
    assert api.post(f"/api/property/{pid}/moves", json={"action": "check_out", "holder": "鉴定中心", "note": "送检"}, headers=h).status_code == 200
    assert api.post(f"/api/property/{pid}/moves", json={"action": "check_in", "holder": "xingzhen01"}, headers=h).status_code == 200
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(png, "PNG")
    r = api.post(f"/api/property/{pid}/photos", content=png.getvalue(), headers={**h, "Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    assert api.post(f"/api/property/{pid}/photos", content=b"not an image", headers=h).status_code == 422
    got = api.get(f"/api/property/{pid}", headers=h).json()
    assert [e["action"] for e in got["chain"]] == ["intake", "check_out", "check_in", "photo"]
    assert got["verification"]["ok"] and got["item"]["state"] == "in_custody" and len(got["item"]["photos"]) == 1
    assert api.get(f"/api/property/{pid}/photos/{got['item']['photos'][0]}", headers=h).content == png.getvalue()
    label = api.get(f"/api/property/{pid}/label", headers=h)
    assert label.status_code == 200 and label.headers["content-type"] == "image/png"
    import zxingcpp

    img = Image.open(io.BytesIO(label.content))
    scanned = zxingcpp.read_barcodes(img)[0].text.split("|")  # the QR names the item and its intake entry
    assert img.size == (900, 420) and scanned[:4] == ["ZJSW", it["number"], str(pid), "A330200000000001"]
    assert got["chain"][0]["hash"].startswith(scanned[4])
    assert api.get(f"/api/property/{pid}/label?format=pdf", headers=h).content.startswith(b"%PDF")
    # another case's purpose does not open the item; bad input is one line, never a 500
    assert api.get(f"/api/property/{pid}", headers=_h(api, "xingzhen01", "case:A330200000000002")).status_code == 403
    past = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    back = api.post(f"/api/property/{pid}/moves", json={"action": "move", "at": past}, headers=h)
    assert back.status_code == 422 and "back-dating" in back.json()["detail"]
    assert api.post(f"/api/property/{pid}/moves", json={"action": "move", "location": "NOWHERE"}, headers=h).status_code == 422
    assert api.post(f"/api/property/{pid}/moves", json={"action": "disposed"}, headers=h).status_code == 422


def _db(api):
    from zhijing.cases import seized
    from zhijing.config import get_settings

    return seized.engine(get_settings())


def test_editing_a_custody_entry_in_the_database_is_detected(api):
    pid = _intake(api, description="现金人民币 5000 元", category="cash")["id"]
    h = _h(api, "xingzhen01")
    for holder in ("保管员甲", "保管员乙"):
        assert api.post(f"/api/property/{pid}/moves", json={"action": "handover", "holder": holder}, headers=h).status_code == 200
    assert _verify(api)["ok"]
    from zhijing.access.audit.store import chain_hash
    from zhijing.cases import custody

    t = custody.entries
    with _db(api).begin() as c:  # 1. a column changed: the copy no longer matches the hashed body
        c.execute(sa.update(t).where(t.c.property_id == pid, t.c.n == 2).values(holder="某人"))
    v = _verify(api)
    assert not v["ok"] and {"property_id": pid, "n": 2, "problem": "a column differs from the hashed body"} in v["problems"]
    with _db(api).begin() as c:  # 2. the body changed too, and its hash recomputed: the next link breaks
        row = c.execute(sa.select(t).where(t.c.property_id == pid, t.c.n == 2)).mappings().one()
        body = row["body"].replace("保管员甲", "某人")
        c.execute(sa.update(t).where(t.c.id == row["id"]).values(body=body, hash=chain_hash(row["prev_hash"], body)))
    assert any(p["n"] == 3 and "link" in p["problem"] for p in _verify(api)["problems"] if p["property_id"] == pid)
    with _db(api).begin() as c:  # 3. the whole tail re-chained: the audit trail's anchors no longer match
        prev = row["prev_hash"]
        for r in c.execute(sa.select(t).where(t.c.property_id == pid, t.c.n >= 2).order_by(t.c.n)).mappings().all():
            new = chain_hash(prev, r["body"])
            c.execute(sa.update(t).where(t.c.id == r["id"]).values(prev_hash=prev, hash=new))
            prev = new
    found = [p for p in _verify(api)["problems"] if p["property_id"] == pid]
    assert [p["n"] for p in found] == [2, 3] and all("anchored in the audit trail" in p["problem"] for p in found)
    with _db(api).begin() as c:  # an entry added by hand, chained correctly onto the last: it has no anchor
        c.execute(sa.insert(t).values(**custody.entry(pid, 4, "handover", "某人", row["location"], datetime.now(UTC), "someone", prev)))
    added = [p for p in _verify(api)["problems"] if p["property_id"] == pid and p["n"] == 4]
    assert added and "no anchor" in added[0]["problem"]
    with _db(api).begin() as c:  # 4. the last entries deleted: their anchors are left without them
        c.execute(sa.delete(t).where(t.c.property_id == pid, t.c.n >= 2))
    assert {p["n"] for p in _verify(api)["problems"] if p["property_id"] == pid and "missing" in p["problem"]} == {2, 3}


def test_disposal_needs_a_second_officers_approval_and_ends_custody(api):
    pid = _intake(api, "kezhang01", description="管制刀具一把", category="weapon")["id"]  # seized by the approver himself
    h, boss = _h(api, "xingzhen01"), _h(api, "kezhang01")
    r = api.post(f"/api/property/{pid}/requests", json={"kind": "dispose", "method": "销毁", "reason": "依法没收销毁"}, headers=h)
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    assert api.post(f"/api/property/requests/{rid}/execute", headers=h).status_code == 409  # not approved yet
    assert api.post(f"/api/property/requests/{rid}/decide", json={"approve": True}, headers=h).status_code == 403  # no approver role
    own = api.post(f"/api/property/requests/{rid}/decide", json={"approve": True}, headers=boss)
    assert own.status_code == 403 and "separation of duties" in own.json()["detail"]  # he seized it

    pid = _intake(api, description="涉案摩托车一辆", category="vehicle")["id"]
    r = api.post(f"/api/property/{pid}/requests", json={"kind": "dispose", "method": "拍卖变卖", "reason": "易贬值，先行变卖"}, headers=h)
    rid = r.json()["id"]
    assert api.post(f"/api/property/{pid}/requests", json={"kind": "dispose", "method": "销毁", "reason": "重复申请"}, headers=h).status_code == 409
    queue = api.get("/api/property/requests", headers=_h(api, "kezhang01", None))  # the approver's queue needs no purpose
    assert queue.status_code == 200 and rid in [q["id"] for q in queue.json()["requests"]]
    assert api.get("/api/property/requests", headers=_h(api, "xingzhen01", None)).status_code == 403
    ok = api.post(f"/api/property/requests/{rid}/decide", json={"approve": True, "note": "同意"}, headers=_h(api, "kezhang01", None))
    assert ok.status_code == 200 and ok.json()["state"] == "approved" and ok.json()["decided_by"] == "kezhang01"
    done = api.post(f"/api/property/requests/{rid}/execute", headers=h)
    assert done.status_code == 200 and done.json()["action"] == "disposed"
    moved = api.post(f"/api/property/{pid}/moves", json={"action": "move", "holder": "某人"}, headers=h)
    assert moved.status_code == 409 and "disposed" in moved.json()["detail"]
    assert api.post(f"/api/property/{pid}/requests", json={"kind": "return", "method": "发还所有人", "reason": "x" * 3, "recipient": "张某"},
                    headers=h).status_code == 409  # fmt: skip
    got = api.get(f"/api/property/{pid}", headers=h).json()
    assert got["item"]["state"] == "disposed" and got["chain"][-1]["action"] == "disposed" and got["verification"]["ok"]


def test_supervision_flags_items_without_custody_and_past_disposal(api):
    seized_at = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    late = _intake(api, description="赃款 2000 元", category="cash", seized_at=seized_at,
                   disposal_due=(date.today() - timedelta(days=10)).isoformat())["id"]  # fmt: skip
    from zhijing.cases import seized

    with _db(api).begin() as c:  # an item some other writer registered without its intake entry
        bare = c.execute(sa.insert(seized.items).values(case_id="A330200000000001", case_ref=DEMO_CASE, description="无记录的手表",
                                                        category="valuables", quantity="1块", seized_at=datetime.now(UTC),
                                                        seized_by="xingzhen01", unit_code="X", state="in_custody", photos="")
                         ).inserted_primary_key[0]  # fmt: skip
    assert api.get("/api/property/supervision/flags", headers=_h(api, "xingzhen01", None)).status_code == 403
    r = api.get("/api/property/supervision/flags", headers=_h(api, "ducha01", None))
    assert r.status_code == 200, r.text
    by = {f["property_id"]: f for f in r.json()["flags"]}
    assert by[late]["rule"] == "property_past_disposal" and by[late]["evidence"]["days_over"] == 10
    assert by[bare]["rule"] == "property_without_custody" and by[bare]["evidence"]["custody_entries"] == 0


def test_a_workspace_linked_to_the_procedure_case_works_its_imported_items(api):
    from zhijing.cases import seized
    from zhijing.cases.procedure import service
    from zhijing.config import get_settings

    s = get_settings()
    cid = service.open_case(s, kind="criminal", title="系列盗窃案", unit_code="330212000000", handler="xingzhen01", purpose="测试",
                            audit=lambda *_: None, workspace_ref=DEMO_CASE)  # fmt: skip
    seized.load_seizures(s, [{"case_id": cid, "item_id": f"{cid}-W1", "at": datetime.now(UTC), "by": "xingzhen01", "description": "赃物电瓶车"}], set())
    h = _h(api, "xingzhen01")  # the 专案's purpose, not the procedure case's own
    mine = [i for i in api.get("/api/property", headers=h).json()["items"] if i["case_id"] == cid]
    assert [i["description"] for i in mine] == ["赃物电瓶车"]
    got = api.get(f"/api/property/{mine[0]['id']}", headers=h).json()
    assert got["verification"]["ok"] and got["chain"][0]["action"] == "intake"
    assert api.get(f"/api/property/{mine[0]['id']}", headers=_h(api, "xingzhen01", "case:A330200000000002")).status_code == 403


def test_the_cases_handler_cannot_approve_its_property(api):
    from zhijing.cases import seized
    from zhijing.cases.procedure import service
    from zhijing.config import get_settings

    s = get_settings()
    cid = service.open_case(s, kind="criminal", title="诈骗案", unit_code="330212000000", handler="kezhang01", purpose="测试",
                            audit=lambda *_: None)  # fmt: skip
    it = seized.intake(s, case_id=cid, case_ref=f"case:{cid}", description="涉案银行卡", category="document", quantity="3张",
                       seized_by="xingzhen01", unit_code="330212000000", holder="xingzhen01", location=_room(api))  # fmt: skip
    rid = seized.request(s, it["id"], "return", "发还所有人", "与案件无关", "xingzhen01", recipient="王某")["id"]
    r = api.post(f"/api/property/requests/{rid}/decide", json={"approve": True}, headers=_h(api, "kezhang01", None))
    assert r.status_code == 403 and "case's handler" in r.json()["detail"]  # 主办人 kezhang01 approves no property of his case
