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
    for layer in ("districts", "streets", "stations"):
        r = module_api.get(f"/api/geo/{layer}", headers=officer)
        assert r.status_code == 200 and r.json()["type"] == "FeatureCollection", layer


def test_the_demo_has_an_analyst_and_a_dispatcher(module_api):
    for user, purpose in (("fenxi01", "case:"), ("zhihui01", "emergency:")):
        me = module_api.get("/api/me", headers=module_api.headers(user)).json()
        assert any(p["value"].startswith(purpose) for p in me["purposes"]), (user, me["purposes"])
