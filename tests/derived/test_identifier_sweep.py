"""No identifier leaves the server above the caller's clearance (DESIGN.md §2.4), whatever
field it travels in — ids, uids, group keys, highlights, evidence, file names: every GET
route of the app (and the collision) is called by a clearance-1 station officer with
parameters that reach a well-documented person, and no full citizen ID, bank account or
phone number of the city may appear in any answer or header."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from fastapi.routing import APIRoute

from zhijing.config import Settings
from zhijing.lake.store import current_files

CASE = "case:A330200000000091"  # a case the station officer works: it opens the whole area
TICKET = "ticket:GD2026000001"
ELEMENTS = ("citizen_id", "phone", "account_no")
DIGITS = re.compile(r"[0-9]{11,19}[Xx]?")


def _identifiers(settings: Settings) -> set[str]:
    """Every citizen ID, phone and account number the city's clean datasets and masters hold."""
    from zhijing.sources.spec import load_spec

    found: set[str] = set()
    sources = [(ds.name, "clean", [f.name for f in ds.fields if f.element in ELEMENTS]) for ds in load_spec().datasets]
    sources += [("persons_master", "entities", ["citizen_id", "phone"]), ("phones_master", "entities", ["number"])]
    for name, zone, columns in sources:
        files = current_files(settings, zone, name)
        for c in columns if files else []:
            rows = duckdb.sql(f'SELECT DISTINCT "{c}"::VARCHAR FROM read_parquet({files!r}, union_by_name=true) WHERE "{c}" IS NOT NULL')
            found |= {str(v).strip() for (v,) in rows.fetchall() if len(str(v).strip()) >= 11}
    return found


@pytest.fixture(scope="module")
def sweep(workbench, tmp_path_factory):
    """A home over the workbench city's lake and serving store, its search index holding the
    bank accounts and phone subscriptions too, the mule model run: (api, person)."""
    from fastapi.testclient import TestClient

    from zhijing.access.guard import load_user
    from zhijing.access.seed import add_purpose, seed_demo
    from zhijing.config import get_settings, reset_settings
    from zhijing.derived.risk import loop
    from zhijing.derived.workbench import index_sync, search

    home = tmp_path_factory.mktemp("sweep") / "home"
    (home / "state").mkdir(parents=True)
    (home / "lake").symlink_to(workbench.settings.lake_dir)
    (home / "state" / "serving.db").symlink_to(workbench.settings.state_dir / "serving.db")
    s = Settings(home=home)
    indexed = json.loads((search.index_dir(workbench.settings) / "versions.json").read_text())
    index_sync.update(s, datasets=[k.removeprefix("clean/") for k, v in indexed.items() if k.startswith("clean/") and v] + ["bank_account", "phone_subscriber"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        from zhijing.api.app import create_app

        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        add_purpose(get_settings(), CASE, "治安案件", load_user(get_settings(), "paichusuo01").unit, ["paichusuo01"])
        loop.register(get_settings(), "mules")
        loop.run(get_settings(), "mules")
        yield TestClient(create_app()), logins, _person(workbench), _identifiers(s)
    reset_settings()


def _person(workbench) -> dict:
    """A person with a citizen ID, a phone, a bank account and two mentions."""
    s = workbench.settings
    links = workbench.links
    banked = links[links.dataset == "bank_account"]
    masters = duckdb.sql(f"SELECT master_id, citizen_id, phone, name FROM read_parquet({current_files(s, 'entities', 'persons_master')!r}) "
                         "WHERE citizen_id IS NOT NULL AND phone IS NOT NULL").df()  # fmt: skip
    row = masters[masters.master_id.isin(banked.master_id)].sort_values("master_id").iloc[0]
    account = banked[banked.master_id == row.master_id].record_id.iloc[0]
    mentions = duckdb.sql(f"SELECT l.mention_id FROM read_parquet({current_files(s, 'entities', 'person_links')!r}) l "
                          f"WHERE l.master_id = '{row.master_id}' ORDER BY 1 LIMIT 2").fetchall()  # fmt: skip
    return {"master_id": row.master_id, "citizen_id": row.citizen_id, "phone": row.phone, "name": row["name"], "account": account,
            "mentions": [m for (m,) in mentions]}  # fmt: skip


def _calls(app, p: dict) -> list[tuple[str, str, dict]]:
    """(method, path, params) for every GET route, its parameters filled to reach ``p``."""
    from zhijing.api.app import all_routes

    path_values = {"name": "bank_account", "master_id": p["master_id"], "ref": CASE, "request_id": "0", "run_id": "0", "wid": "1",
                   "seq": "1", "key": p["master_id"]}  # fmt: skip
    subject = f"person:{p['master_id']}"
    queries = {"/api/persons/search": [{"q": q} for q in (p["citizen_id"], p["phone"], p["name"])],
               "/api/search": [{"q": q} for q in (p["citizen_id"], p["phone"], p["account"], p["name"], "酒店")],
               "/api/persons/explain": [{"a": p["mentions"][0], "b": p["mentions"][-1]}],
               "/api/trajectory": [{"subject": x} for x in (subject, p["phone"])],
               "/api/companions": [{"subject": x} for x in (subject, p["phone"])],
               "/api/compare": [{"a": subject, "b": p["phone"]}],
               "/api/graph/expand": [{"subject": x} for x in (subject, p["phone"], p["citizen_id"])],
               "/api/graph/path": [{"a": p["citizen_id"], "b": p["phone"]}],
               "/api/risk/contacts": [{"index": p["master_id"]}],
               "/api/persons/{master_id}/export": [{"reason": "移送检察院审查起诉"}],
               "/api/cases/{ref}/report": [{"reason": "移送检察院审查起诉"}],
               "/api/cases/{ref}/ftm": [{"reason": "移送检察院审查起诉"}],
               "/api/graph/ftm": [{"subject": subject, "reason": "移送检察院审查起诉"}]}  # fmt: skip
    out = []
    for r in all_routes(app):
        if isinstance(r, APIRoute) and "GET" in r.methods:
            path = re.sub(r"\{(\w+)\}", lambda m: path_values.get(m.group(1), "1"), r.path)
            out += [("GET", path, params) for params in queries.get(r.path, [{}])]
    return out


def _leaks(text: str, known: set[str]) -> set[str]:
    return {m for m in DIGITS.findall(text) if m in known}


def test_no_identifier_leaves_above_a_station_officers_clearance(sweep):
    client, logins, p, known = sweep
    token = client.post("/api/auth/token", data={"username": "paichusuo01", "password": logins["paichusuo01"]}).json()["access_token"]
    assert {p["citizen_id"], p["phone"], p["account"]} <= known
    wid = client.get("/api/risk/inbox", params={"model": "mules", "limit": 1}, headers={"Authorization": f"Bearer {token}"})
    calls = _calls(client.app, p)
    leaks, answered = {}, 0
    for purpose in (CASE, TICKET):
        h = {"Authorization": f"Bearer {token}", "X-Purpose": purpose}
        for method, path, params in calls:
            r = client.request(method, path, params=params, headers=h)
            answered += r.status_code == 200
            found = _leaks(r.text, known) | _leaks(" ".join(f"{k}: {v}" for k, v in r.headers.items()), known)
            if found:
                leaks[f"{purpose} {method} {path} {params}"] = sorted(found)[:3]
        window = {"kind": "circle", "value": {"lon": 121.55, "lat": 29.87, "radius_m": 5000}, "start": "2025-03-01T00:00", "end": "2025-03-08T00:00"}
        r = client.post("/api/collision", json={"windows": [window], "k": 1, "limit": 200}, headers=h)
        if found := _leaks(r.text, known):
            leaks[f"{purpose} POST /api/collision"] = sorted(found)[:3]
    assert answered >= 40 and wid.status_code == 200  # the sweep reached the data, not only refusals
    assert not leaks, leaks


def test_an_officer_cleared_for_identifiers_sees_them(sweep):
    """The mask is by clearance: the same search shows a clearance-2 officer the account."""
    client, logins, p, _ = sweep
    from zhijing.access.seed import DEMO_CASE

    token = client.post("/api/auth/token", data={"username": "xingzhen01", "password": logins["xingzhen01"]}).json()["access_token"]
    r = client.get("/api/search", params={"q": p["account"]}, headers={"Authorization": f"Bearer {token}", "X-Purpose": DEMO_CASE})
    assert r.status_code == 200 and p["account"] in r.text
