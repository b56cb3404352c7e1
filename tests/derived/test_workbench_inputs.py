"""What an officer types into the workbench and the relationship graph (a newcomer's trial):
a bare citizen ID number, mobile number, plate or master id is the subject it names; the
search pages past its first groups."""

from __future__ import annotations

import duckdb
import pytest

from zhijing.access.seed import DEMO_CASE
from zhijing.derived.workbench import presence
from zhijing.lake.store import current_files


@pytest.fixture(scope="module")
def person(workbench):
    """A person with a citizen ID and a presence trail."""
    s = workbench.settings
    src = presence.source(s)
    row = duckdb.sql(f"SELECT m.master_id, m.citizen_id FROM read_parquet({current_files(s, 'entities', 'persons_master')!r}) m "
                     f"JOIN (SELECT subject, count(*) n FROM {src} WHERE subject_kind = 'person' GROUP BY 1) p ON p.subject = m.master_id "
                     "WHERE m.citizen_id IS NOT NULL ORDER BY p.n DESC LIMIT 1").fetchall()[0]  # fmt: skip
    return row


def test_a_bare_citizen_id_phone_plate_or_master_id_is_a_subject(workbench, wb_api, person):
    mid, cid = person
    h = wb_api.headers("xingzhen01", DEMO_CASE)
    by_id = wb_api.get("/api/trajectory", params={"subject": f"person:{mid}"}, headers=h).json()
    for typed in (cid, mid, f" {mid} "):
        r = wb_api.get("/api/trajectory", params={"subject": typed}, headers=h)
        assert r.status_code == 200, (typed, r.text)
        assert mid in r.json()["subject"] and r.json()["total"] >= 1
    assert wb_api.get("/api/trajectory", params={"subject": cid}, headers=h).json()["total"] >= by_id["total"]
    src = presence.source(workbench.settings)
    plate = duckdb.sql(f"SELECT subject FROM {src} WHERE subject_kind = 'plate' LIMIT 1").fetchall()[0][0]
    r = wb_api.get("/api/trajectory", params={"subject": plate}, headers=h)
    assert r.status_code == 200 and r.json()["subject"] == f"plate:{plate}", r.text
    tel = duckdb.sql(f"SELECT subject FROM {src} WHERE subject_kind = 'phone' LIMIT 1").fetchall()
    if tel:
        tel = tel[0]
        r = wb_api.get("/api/trajectory", params={"subject": tel[0]}, headers=h)
        assert r.status_code == 200 and r.json()["subject"] == f"phone:{tel[0]}", r.text
    r = wb_api.get("/api/companions", params={"subject": cid}, headers=h)
    assert r.status_code == 200, r.text
    r = wb_api.get("/api/compare", params={"a": cid, "b": plate}, headers=h)
    assert r.status_code == 200, r.text
    nobody = wb_api.get("/api/trajectory", params={"subject": "110101190001010000"}, headers=h)
    assert nobody.status_code == 422 and "citizen ID" in nobody.json()["detail"]
    assert wb_api.get("/api/trajectory", params={"subject": "张三"}, headers=h).status_code == 422
    refused = wb_api.get("/api/trajectory", params={"subject": cid}, headers=wb_api.headers("paichusuo01", "ticket:GD2026000001"))
    assert refused.status_code == 403  # the access layer still decides


def test_search_pages_past_its_first_groups(workbench, wb_api):
    h = wb_api.headers("xingzhen01", DEMO_CASE)
    get = lambda q, **p: wb_api.get("/api/search", params={"q": q, **p}, headers=h).json()  # noqa: E731
    q = next(q for q in ("张", "王", "李", "浙B", "路", "小区", "2025") if len(get(q, limit=100)["groups"]) >= 8)
    first = get(q, limit=4)
    assert first["more"] is True and len(first["groups"]) == 4
    second = get(q, limit=4, offset=4)
    assert second["groups"] and second["offset"] == 4
    assert not {g["group"] for g in first["groups"]} & {g["group"] for g in second["groups"]}
    both = get(q, limit=8)
    assert [g["group"] for g in both["groups"]] == [g["group"] for g in first["groups"] + second["groups"]]


def test_the_graph_takes_the_workbench_forms_and_explains_a_subject_without_edges(workbench, wb_api):
    from zhijing.derived.graph import edges as edge_job
    from zhijing.derived.graph import service

    edge_job.run(workbench.settings, "duckdb")
    g = service.graph(workbench.settings)
    mid = next(str(i)[2:] for i in g.ids if str(i).startswith("P:"))
    cid = duckdb.sql(f"SELECT citizen_id FROM read_parquet({current_files(workbench.settings, 'entities', 'persons_master')!r}) "
                     f"WHERE master_id = '{mid}'").fetchall()[0][0]  # fmt: skip
    h = wb_api.headers("xingzhen01", DEMO_CASE)
    forms = [f"P:{mid}", f"person:{mid}", mid] + ([cid] if cid else [])
    for typed in forms:
        r = wb_api.get("/api/graph/expand", params={"subject": typed, "hops": 1}, headers=h)
        assert r.status_code == 200, (typed, r.text)
        assert r.json()["subject"] == f"P:{mid}"
    r = wb_api.get("/api/graph/path", params={"a": f"person:{mid}", "b": mid}, headers=h)
    assert r.status_code == 200, r.text
    lonely = wb_api.get("/api/graph/expand", params={"subject": "person:PM0000NOEDGES"}, headers=h)
    assert lonely.status_code == 404 and lonely.json()["detail"] == "this subject has no relations in the relationship graph"


def test_a_station_officers_search_pages_after_the_need_to_know_filter(workbench, wb_api):
    """The need to know filters first, then the page is cut: under an order naming half the
    persons a case finds, a station officer's small pages are full, ``total`` counts what
    they may see and ``more`` says whether another page follows."""
    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose

    case = wb_api.get("/api/search", params={"q": "酒店", "limit": 100}, headers=wb_api.headers("xingzhen01", DEMO_CASE)).json()
    persons = [g["id"] for g in case["groups"] if g["kind"] == "person"]
    assert len(persons) >= 20
    order = "order:KZ2026-PAGING"
    add_purpose(workbench.settings, order, "布控令", load_user(workbench.settings, "paichusuo01").unit, ["paichusuo01"], subjects=persons[::2])
    h = wb_api.headers("paichusuo01", order)
    get = lambda **p: wb_api.get("/api/search", params={"q": "酒店", **p}, headers=h).json()  # noqa: E731
    big = [get(limit=100)]
    while big[-1]["more"]:
        big.append(get(limit=100, offset=100 * len(big)))
    seen = [g["group"] for p in big for g in p["groups"]]
    assert {f"person:{m}" for m in persons[::2]} <= set(seen) and not {f"person:{m}" for m in persons[1::2]} & set(seen)
    assert len(set(seen)) == len(seen) and all(p["total"] == len(seen) for p in big)
    size = 5
    pages = [get(limit=size, offset=o) for o in range(0, len(seen), size)]
    assert [g["group"] for p in pages for g in p["groups"]] == seen
    assert all(p["total"] == len(seen) for p in pages)
    assert [p["more"] for p in pages] == [True] * (len(pages) - 1) + [False]
    beyond = get(limit=size, offset=500)
    assert beyond["groups"] == [] and beyond["total"] == len(seen) and beyond["more"] is False
