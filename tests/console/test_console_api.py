"""The API the console's screens need beyond the person routes: the audit trail paged past
the newest page and filtered by officer, time and person (the 督察 page listed only the
newest 200), the unit's name for the header, and the map's reference layers."""

from __future__ import annotations


def test_audit_events_page_back_and_filter(module_api):
    from zhijing.access.audit.store import AuditEvent, log_for
    from zhijing.config import get_settings

    log = log_for(get_settings())
    for i in range(30):
        log.append(AuditEvent(actor="xingzhen01" if i % 2 else "paichusuo01", operation="consult", outcome="allowed",
                              purpose="case:T", records=[f"PMA{i}", "PM_100%"]))  # fmt: skip
    auditor = module_api.headers("ducha01")
    get = lambda **p: module_api.get("/api/audit/events", params=p, headers=auditor).json()["events"]  # noqa: E731
    first = get(limit=10)
    older = get(limit=10, before=first[-1]["seq"])
    assert len(older) == 10 and max(e["seq"] for e in older) < min(e["seq"] for e in first)  # paged back
    assert {e["actor"] for e in get(limit=100, actor="paichusuo01")} == {"paichusuo01"}
    named = get(limit=100, record="PMA7")
    assert len(named) == 1 and "PMA7" in named[0]["records"]
    assert len(get(limit=100, record="PM_10")) == 0  # a record is matched whole, wildcards are text
    assert len(get(limit=100, record="PM_100%")) == 30
    assert get(limit=100, since="2999-01-01T00:00:00") == []
    assert len(get(limit=5, until="2999-01-01T00:00:00")) == 5


def test_me_names_the_unit_and_the_map_layers_answer(module_api):
    me = module_api.get("/api/me", headers=module_api.headers("xingzhen01")).json()
    assert me["unit_name"] and me["unit_name"] != me["unit"]
    officer = module_api.headers("xingzhen01")
    for layer in ("layers/district", "layers/road", "stations"):
        r = module_api.get(f"/api/geo/{layer}", headers=officer)
        assert r.status_code == 200 and r.json()["type"] == "FeatureCollection", layer


def test_the_demo_has_an_analyst_and_a_dispatcher(module_api):
    for user, purpose in (("fenxi01", "case:"), ("zhihui01", "emergency:")):
        me = module_api.get("/api/me", headers=module_api.headers(user)).json()
        assert any(p["value"].startswith(purpose) for p in me["purposes"]), (user, me["purposes"])


def test_console_pages_answer_html_for_unknown_addresses_and_bad_ids(module_api):
    for path in ("/nonexistent", "/persons/NOTANID", "/cases/nope"):
        r = module_api.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "未找到" in r.text and '<nav>' in r.text and "pydantic" not in r.text, path
    api = module_api.get("/api/nonexistent")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}  # the API keeps JSON
    icon = module_api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon" and len(icon.content) > 100


def test_the_menu_lists_what_the_user_may_open(module_api):
    allowed = {u: set(module_api.get("/api/console/nav", headers=module_api.headers(u)).json()["allowed"])
               for u in ("xingzhen01", "ducha01", "weijian01", "admin")}  # fmt: skip
    assert {"/trajectory", "/collision", "/graph", "/search", "/cases"} <= allowed["xingzhen01"]
    assert "/audit" not in allowed["xingzhen01"]
    assert "/audit" in allowed["ducha01"] and not {"/trajectory", "/collision", "/graph"} & allowed["ducha01"]
    assert not {"/trajectory", "/collision", "/graph", "/audit"} & allowed["admin"]
    assert not {"/trajectory", "/collision", "/compare", "/audit", "/review"} & allowed["weijian01"]  # external: its ticket only


def test_the_console_has_the_catalogs_chinese_names(module_api):
    labels = module_api.get("/api/console/labels", headers=module_api.headers("xingzhen01")).json()
    assert labels["datasets"]["hukou_person"] == "户籍人口" and labels["datasets"]["door_access"] == "社区门禁记录"
    assert labels["fields"]["hukou_person"]["XM"] == "姓名" and labels["common"]["name"] == "姓名"
    assert labels["fields"]["door_access"]["card_holder"] == "姓名" and labels["fields"]["rail_ticket"]["passenger_name"] == "姓名"
