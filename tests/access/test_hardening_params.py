"""Every limit / offset / id parameter of every route, given hostile values, answers with a
clear 4xx — never a 500, never an uncapped page (issue 11: ``/api/audit/events?limit=-1``
returned all events past the 5,000 cap; ``/api/quarantine/%2e%2e``, ``.lock``, ``_staging``
and ``?offset=1e20`` answered 500) — and person data is never kept in a cache."""

from __future__ import annotations

import re

import duckdb
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from zhijing.access.seed import DEMO_CASE
from zhijing.api.app import all_routes

HOSTILE = ["-1", "1e20", "9223372036854775808", "%2e%2e", ".lock", "_staging"]
NUMBERS = ("-1", "1e20", "9223372036854775808")


def _requests(app):
    """(method, path, params, must_be_422) for each route with each hostile value in each
    path slot and each integer query parameter the route declares; a hostile number in a
    query parameter (a page size, an offset) must be a 422."""
    for r in all_routes(app):
        if not isinstance(r, APIRoute):
            continue
        query = [p.name for p in r.dependant.query_params if p.field_info.annotation is int]
        if not query and "{" not in r.path:
            continue
        for method in sorted(r.methods - {"HEAD"}):
            for value in HOSTILE:
                path = re.sub(r"\{[^}]+\}", value, r.path)
                numeric = value in NUMBERS and bool(query)  # a path id may be refused first (403 / 404)
                yield method, path, {q: value for q in query}, numeric
                if "{" in r.path and query:  # a good dataset name, hostile paging
                    yield method, re.sub(r"\{[^}]+\}", "incident_110", r.path), {q: value for q in query}, numeric


def _sharing_contract(api) -> str:
    """The purpose of a sharing contract of 卫健委, approved on both sides."""
    from datetime import UTC, datetime, timedelta

    c = api.post("/api/sharing/contracts", headers=api.headers("weijian01"), json={
        "title": "参数核查", "department": "卫健委", "purpose": "核查", "legal_basis": "测试", "datasets": ["hukou_person"],
        "fields": ["name"], "services": ["verify", "query", "batch", "subscribe"], "events": ["death"], "daily_quota": 100,
        "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "dept_approver": "weijian02",
        "police_approver": "kezhang01"}).json()  # fmt: skip
    for who in ("weijian02", "kezhang01"):
        api.post(f"/api/sharing/contracts/{c['id']}/approve", headers=api.headers(who))
    return c["ref"]


def test_no_route_answers_500_to_hostile_paging(resolved_city, make_api):
    """Walks every route: hostile numbers in an integer query parameter answer 422, anything
    else hostile a 4xx; nothing answers 500 or pages past its cap."""
    api = make_api(resolved_city[0].home)  # a real lake: quarantine rows to page through
    client = TestClient(api.client.app, raise_server_exceptions=False)
    officer, auditor = api.headers("xingzhen01", DEMO_CASE), api.headers("ducha01", DEMO_CASE)
    dispatcher = api.headers("zhihui01", "order:110-330200000000")  # command routes open under a duty purpose only
    department = api.headers("weijian01", _sharing_contract(api))  # the sharing services open under a contract only
    approver, legal = api.headers("kezhang01"), api.headers("fazhi01")  # the approver's queue; 法制's supervision
    failures, seen = [], 0
    for method, path, params, numeric in _requests(api.client.app):
        h = (auditor if path.startswith(("/api/audit", "/api/oversight")) else
             dispatcher if path.startswith(("/api/command", "/api/watch")) else
             department if path.startswith("/api/sharing") else
             approver if path.startswith("/api/procedure/requests") else
             legal if path.startswith("/api/procedure/supervision") else officer)  # fmt: skip
        r = client.request(method, path, params=params, headers=h)
        seen += 1
        if (numeric and r.status_code != 422) or not 400 <= r.status_code < 500:
            failures.append(f"{method} {path} {params} -> {r.status_code}")
    assert seen > 50 and not failures, "\n".join(failures)

    for limit in ("-1", "0", "5001", "1e20"):  # -1 returned every event past the 5,000 cap
        assert client.get("/api/audit/events", params={"limit": limit}, headers=auditor).status_code == 422, limit
    assert len(client.get("/api/audit/events", params={"limit": 5000}, headers=auditor).json()["events"]) <= 5000
    for name in ("%2e%2e", ".lock", "_staging", "..%2f..%2fstate", "nope"):
        assert client.get(f"/api/quarantine/{name}", headers=officer).status_code in (404, 422), name
    for params in ({"offset": "1e20"}, {"offset": "-1"}, {"limit": "-1"}, {"limit": "0"}, {"limit": "100000"}):
        assert client.get("/api/quarantine/incident_110", params=params, headers=officer).status_code == 422, params
    assert client.get("/api/quarantine/incident_110", params={"limit": 5}, headers=officer).status_code == 200


def test_person_data_is_never_cached(resolved_city, make_api):
    """Person JSON and CSV carried no Cache-Control: no-store and no security headers."""
    from zhijing.lake.store import current_files

    api = make_api(resolved_city[0].home)
    files = current_files(resolved_city[0], "entities", "persons_master")
    mid = duckdb.sql(f"SELECT master_id FROM read_parquet({files!r}) ORDER BY mentions DESC, master_id LIMIT 1").fetchall()[0][0]
    h = api.headers("xingzhen01", DEMO_CASE)
    for path in (f"/api/persons/{mid}", f"/api/persons/{mid}/export?reason=审计测试", "/api/persons/search?q=" + mid[:6]):
        r = api.get(path, headers=h)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
        assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'none'" in r.headers["content-security-policy"]
