"""The case workspace (专案): subjects, pins, notes and searches gathered under the case; a
watermarked report with map, graph and evidence; every call audited under the case;
closing the case closes its purpose."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest

from zhijing.lake.store import current_files

CASE = "case:A330200000000077"
REASON = {"reason": "移送检察院审查起诉"}


@pytest.fixture()
def workspace(resolved_city, make_api):
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    api = make_api(resolved_city[0].home)
    s = get_settings()
    add_purpose(s, CASE, "入室盗窃系列案", load_user(s, "xingzhen01").unit, ["xingzhen01", "paichusuo01"])
    mid, name = duckdb.sql(f"SELECT master_id, name FROM read_parquet({current_files(s, 'entities', 'persons_master')!r}) "
                           "WHERE name IS NOT NULL ORDER BY mentions DESC LIMIT 1").fetchall()[0]  # fmt: skip
    return api, s, mid, name


def test_a_case_gathers_items_and_reports_them_watermarked(workspace):
    from zhijing.access.audit.store import log_for

    api, s, mid, name = workspace
    h = api.headers("xingzhen01", CASE)
    base = f"/api/cases/{CASE}"
    before = max((e["seq"] for e in log_for(s).events(1)), default=0)  # the home is shared: this test's events come after
    assert api.post(f"{base}/items", json={"kind": "subject", "title": "嫌疑人", "payload": {"master_ids": [mid]}}, headers=h).status_code == 200
    pin = {"kind": "pin", "title": "卡口 KK0001", "payload": {"lon": 121.55, "lat": 29.87,
           "evidence": [{"dataset": "checkpoint_read", "record_id": "GC0000001", "time": "2026-02-28T18:10:00Z"}],
           "edges": [{"source": mid, "target": "vehicle:浙B12345", "kind": "车辆"}]}}  # fmt: skip
    assert api.post(f"{base}/items", json=pin, headers=h).status_code == 200
    note = api.post(f"{base}/items", json={"kind": "note", "title": "研判", "payload": {"text": "<script>x</script>夜间出入"}}, headers=h)
    gone = api.post(f"{base}/items", json={"kind": "note", "title": "草稿", "payload": {"text": "删除"}}, headers=h).json()["id"]
    assert api.delete(f"{base}/items/{gone}", headers=h).status_code == 200
    assert api.delete(f"{base}/items/{gone}", headers=h).status_code == 404

    items = api.get(base, headers=h).json()["items"]
    assert [i["kind"] for i in items] == ["subject", "pin", "note"] and note.status_code == 200
    assert all(i["created_at"].endswith("+08:00") for i in items)  # the system's UTC clock, shown in Beijing time
    assert any(c["ref"] == CASE and c["items"] == 3 for c in api.get("/api/cases", headers=api.headers("xingzhen01")).json()["cases"])

    r = api.get(f"{base}/report", params=REASON, headers=h)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    html, export_id = r.text, r.headers["x-export-id"]
    assert "智警导出 xingzhen01" in html and export_id in html and CASE in html
    assert "GC0000001" in html and "vehicle:浙B12345" in html and name in html
    assert "本报告所有时间均为北京时间 UTC+8" in html and "2026-03-01 02:10:00" in html  # the pinned UTC time, in Beijing time
    assert re.search(r"智警导出 xingzhen01 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00（北京时间 UTC\+8）", html)
    assert html.count("<svg") == 2  # the map and the graph
    assert "<script>x</script>" not in html  # notes are escaped
    events = log_for(s).events(20)
    disclosed = next(e for e in events if e["operation"] == "disclose")
    assert export_id in disclosed["query"] and disclosed["purpose"] == CASE and disclosed["records"] == [mid]
    mine = [e for e in events if e["seq"] > before and e["actor"] == "xingzhen01" and e["query"] and e["query"].startswith(("case ", "case workspace"))]
    assert len(mine) >= 6 and all(e["purpose"] == CASE for e in mine)  # every call audited under the case


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian chromium is not installed")
def test_the_report_prints_to_pdf(workspace):
    api, _, _, _ = workspace
    r = api.get(f"/api/cases/{CASE}/report", params={"format": "pdf", **REASON}, headers=api.headers("xingzhen01", CASE))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_the_workspace_runs_only_under_its_own_case(workspace):
    from zhijing.access.seed import DEMO_CASE

    api, _, _, _ = workspace
    other = api.get(f"/api/cases/{CASE}", headers=api.headers("xingzhen01", DEMO_CASE))
    assert other.status_code == 403 and "this case" in other.json()["detail"]
    assert api.get(f"/api/cases/{CASE}", headers=api.headers("xingzhen01")).status_code == 403  # no purpose
    assert api.get(f"/api/cases/{CASE}", headers=api.headers("weijian01", CASE)).status_code == 403  # not assigned, external
    low = api.get(f"/api/cases/{CASE}/report", params=REASON, headers=api.headers("paichusuo01", CASE))
    assert low.status_code == 403  # clearance 1 may work in the case, not export it
    bad = api.post(f"/api/cases/{CASE}/items", json={"kind": "subject", "title": "x", "payload": {}}, headers=api.headers("xingzhen01", CASE))
    assert bad.status_code == 422
    assert api.post(f"/api/cases/{CASE}/items", json={"kind": "rumour", "title": "x"}, headers=api.headers("xingzhen01", CASE)).status_code == 422


def test_closing_the_case_closes_its_purpose(workspace):
    api, _, mid, _ = workspace
    h = api.headers("xingzhen01", CASE)
    assert api.get(f"/api/persons/{mid}", headers=h).status_code == 200
    assert api.post(f"/api/cases/{CASE}/close", headers=h).status_code == 200
    after = api.get(f"/api/persons/{mid}", headers=h)
    assert after.status_code == 403 and "closed" in after.json()["detail"]
    assert api.get(f"/api/cases/{CASE}", headers=h).status_code == 403


def _first_read(settings) -> tuple[str, dict]:
    """A plate with checkpoint reads, as the console's trajectory screen names it."""
    from zhijing.derived.workbench import presence

    if presence.source(settings) is None:
        presence.build(settings)
    (plate,) = duckdb.sql(f"SELECT subject FROM {presence.source(settings)} WHERE subject_kind = 'plate' AND lon IS NOT NULL "
                          "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchall()[0]  # fmt: skip
    return f"plate:{plate}", {}


def test_the_report_shows_what_the_console_pinned(workspace):
    """Each screen's pin, saved as the console saves it (zj.pin), is evidence in the report and,
    where it has coordinates, a marker on its map."""
    api, s, mid, _ = workspace
    h = api.headers("xingzhen01", CASE)
    base = f"/api/cases/{CASE}"
    subject, _ = _first_read(s)
    pts = api.get("/api/trajectory", params={"subject": subject, "limit": 50}, headers=h).json()["points"]
    x = next(p for p in pts if p["dataset"] == "checkpoint_read" and p["lon"])
    title = f"{subject} {x['ts'][:16].replace('T', ' ')} {x['place_name'] or ''}"
    assert api.post(f"{base}/items", json={"kind": "pin", "title": title, "payload": {"subject": subject, "point": x}}, headers=h).status_code == 200
    hit = {"kind": "plate", "subject": subject[6:], "windows": 1, "records": 1,
           "evidence": [{"window": 0, "dataset": "checkpoint_read", "record_id": "GC-HIT-1", "ts": "2026-03-02T01:00:00",
                         "place_kind": "checkpoint", "place_id": "KK9", "place_name": "环城卡口", "lon": 121.6, "lat": 29.9, "via": None}]}
    companion = {"subject": "M-COMPANION", "kind": "person", "score": 2.0, "events": 2, "places": 1, "kinds": ["同住"],
                 "evidence": [{"kind": "同住", "place_name": "如家酒店", "dataset": "lodging", "record_id": "LD-COMP-1", "ts": "2026-03-03T22:00:00"}]}
    edge = {"id": "e1", "source": f"P:{mid}", "target": "V:浙B00001", "type": "owns", "weight": 1,
            "evidence": [{"dataset": "vehicle_registration", "record_id": "VR-EDGE-1", "time": "2025-01-01T00:00:00"}]}
    group = {"kind": "vehicle", "id": "浙B00001", "count": 1, "hits": [{"dataset": "case_info", "record_id": "AJ-SEARCH-1", "fields": {}}]}
    for kind, t, payload in [("pin", "碰撞命中", {"windows": [], "hit": hit}), ("pin", "同行", {"subject": f"person:{mid}", "companion": companion}),
                             ("pin", "关系", {"edge": edge}), ("search", "浙B00001 → 车辆", {"query": "浙B00001", "group": group})]:  # fmt: skip
        assert api.post(f"{base}/items", json={"kind": kind, "title": t, "payload": payload}, headers=h).status_code == 200

    html = api.get(f"{base}/report", params=REASON, headers=h).text
    assert "暂无标记证据" not in html and "无带坐标的标记结果" not in html
    for rid in (x["record_id"], "GC-HIT-1", "LD-COMP-1", "VR-EDGE-1", "AJ-SEARCH-1"):
        assert rid in html
    assert f"{x['lon']:.5f}, {x['lat']:.5f}" in html and "121.60000, 29.90000" in html  # each marker, with its coordinates
    assert html.count('<circle class="pin"') >= 2 and title in html
    assert "M-COMPANION" in html and "V:浙B00001" in html  # companion and graph edge in the relation graph


def test_the_report_speaks_chinese_like_the_console(workspace):
    api, s, _, _ = workspace
    html = api.get(f"/api/cases/{CASE}/report", params=REASON, headers=api.headers("xingzhen01", CASE)).text
    from zhijing.access.guard import load_user
    from zhijing.cases.report import unit_name

    unit = load_user(s, "xingzhen01").unit
    assert "办理中" in html and "在办" not in html
    assert f"承办单位 {unit_name(s, unit)}" in html and unit_name(s, unit) != unit and unit not in html
    for english in ("Subjects", "Map", "Graph", "Evidence", "Notes", "Saved searches"):
        assert english not in html


BULK = "case:A330200000000078"


def _bulk_case(api, s, n: int = 600) -> list[str]:
    """A case whose one subject item names ``n`` persons, worked by xingzhen01 with kezhang01 (an approver)."""
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose

    add_purpose(s, BULK, "批量对象案", load_user(s, "xingzhen01").unit, ["xingzhen01", "kezhang01"])
    ids = [m for (m,) in duckdb.sql(f"SELECT master_id FROM read_parquet({current_files(s, 'entities', 'persons_master')!r}) "
                                    f"WHERE citizen_id IS NOT NULL ORDER BY master_id LIMIT {n}").fetchall()]  # fmt: skip
    item = {"kind": "subject", "title": "涉案人员", "payload": {"master_ids": ids}}
    assert api.post(f"/api/cases/{BULK}/items", json=item, headers=api.headers("xingzhen01", BULK)).status_code == 200
    return ids


def test_a_report_of_600_subjects_is_an_export_a_second_officer_approves(workspace):
    """A case report is an export: a stated reason, the size threshold, 双人审批, one
    watermarked download, audited as a disclosure of its persons naming the approval."""
    from zhijing.access.audit.store import log_for

    api, s, _, _ = workspace
    ids = _bulk_case(api, s)
    officer, chief = api.headers("xingzhen01", BULK), api.headers("kezhang01", BULK)
    assert api.get(f"/api/cases/{BULK}/report", headers=officer).status_code == 422  # no reason stated
    direct = api.get(f"/api/cases/{BULK}/report", params=REASON, headers=officer)
    assert direct.status_code == 403 and "双人审批" in direct.json()["detail"] and "涉案" not in direct.text
    req = api.post("/api/exports", json={"case_report": BULK, **REASON}, headers=officer).json()
    assert (req["kind"], req["status"], req["needs_approval"]) == ("case_report", "pending", True) and req["rows"] >= 600
    assert api.get(f"/api/exports/{req['id']}/download", headers=officer).status_code == 403  # not yet approved
    assert req["id"] in {r["id"] for r in api.get("/api/exports", headers=chief).json()["requests"]}
    assert api.post(f"/api/exports/{req['id']}/approve", headers=chief).json()["approved_by"] == "kezhang01"
    got = api.get(f"/api/exports/{req['id']}/download", headers=officer)
    assert got.status_code == 200 and "智警导出 xingzhen01" in got.text and got.headers["x-export-id"] in got.text
    assert api.get(f"/api/exports/{req['id']}/download", headers=officer).status_code == 403  # once
    disclosed = next(e for e in log_for(s).events(30) if e["operation"] == "disclose" and e["outcome"] == "allowed")
    assert set(disclosed["records"]) == set(ids) and "approved by kezhang01" in disclosed["query"]


def test_the_oversight_rules_count_a_report_as_an_export(workspace, monkeypatch):
    """A report let through without approval (thresholds raised) is a bulk export to 督察."""
    from zhijing.access import oversight
    from zhijing.access.audit.store import log_for
    from zhijing.config import reset_settings

    api, s, _, _ = workspace
    _bulk_case(api, s, 30)
    monkeypatch.setenv("ZHIJING_EXPORTS__APPROVAL_ROWS", "100000")
    reset_settings()
    r = api.get(f"/api/cases/{BULK}/report", params=REASON, headers=api.headers("xingzhen01", BULK))
    assert r.status_code == 200
    found = oversight.detect(log_for(s).all_events(), lambda p: set(), lambda r: None, lambda u: None)
    assert any(f["rule"] == "bulk_export" and f["actor"] == "xingzhen01" for f in found)


def test_workspace_and_report_name_companions_and_datasets(workspace):
    """A pinned companion is named (masked as the reader's clearance requires), its edge says
    how they shared (同住, not 同行), and a pinned record reads as its dataset's catalog title."""
    api, s, mid, _ = workspace
    other, other_name = duckdb.sql(f"SELECT master_id, name FROM read_parquet({current_files(s, 'entities', 'persons_master')!r}) "
                                   f"WHERE name IS NOT NULL AND length(name) >= 2 AND master_id <> '{mid}' ORDER BY mentions DESC LIMIT 1").fetchall()[0]  # fmt: skip
    h = api.headers("xingzhen01", CASE)
    base = f"/api/cases/{CASE}"
    companion = {"subject": other, "kind": "person", "score": 1.0, "events": 1, "places": 1, "kinds": ["同住"],
                 "evidence": [{"kind": "同住", "place_name": "如家酒店", "dataset": "lodging", "record_id": "LD-NAMED-1", "ts": "2026-03-03T22:00:00"}]}
    group = {"kind": "record", "id": "bank_transaction|TX-NAMED-1", "group": "record:bank_transaction|TX-NAMED-1", "count": 1,
             "hits": [{"dataset": "bank_transaction", "record_id": "TX-NAMED-1", "fields": {}}]}
    for kind, t, payload in [("pin", "同住", {"subject": f"person:{mid}", "companion": companion}),
                             ("search", "转账 → 记录", {"query": "TX", "group": group})]:  # fmt: skip
        assert api.post(f"{base}/items", json={"kind": kind, "title": t, "payload": payload}, headers=h).status_code == 200
    ws = api.get(base, headers=h).json()
    assert ws["names"][other] == other_name
    low = api.get(base, headers=api.headers("paichusuo01", CASE)).json()["names"]
    file = api.get(f"/api/persons/{other}", headers=api.headers("paichusuo01", CASE))
    assert low.get(other) == (file.json()["name"] if file.status_code == 200 else None)  # as the person file shows it to them
    html = api.get(f"{base}/report", params=REASON, headers=h).text
    assert f"{other_name}（{other}）" in html and 'fill="#55606e">同住</text>' in html
    assert "TX-NAMED-1" in html and "bank_transaction|" not in html
    assert "旅馆业住宿登记" in html
