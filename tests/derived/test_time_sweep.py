"""Every time the API returns carries its offset, in the deployment's zone (issue 18, item 1).

A sweep calls every GET route of the API (enumerated like the policy matrix,
tests/access/test_route_matrix.py) on a home with something behind each — a case with a pin
and a note, an export request, a saved collision, crowd warnings, the audit trail — and walks
every JSON answer for ISO times: none may lack an offset, and each is in the deployment's zone
except the signed audit head's own ``signed_at`` (kept exactly as it was signed)."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from fastapi.routing import APIRoute

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files
from zhijing.localtime import ISO_TIME

BEIJING = "+08:00"
SIGNED = {"signed_at"}  # a signed audit head's time: the signature covers the text as it is
NOT_JSON = {"/api/cases/{ref}/report", "/api/persons/{master_id}/export", "/api/exports/{request_id}/download"}


def misplaced(tree: Any, path: str = "$") -> list[str]:
    """Where ``tree`` holds an ISO time without an offset, or in another zone."""
    if isinstance(tree, dict):
        return [p for k, v in tree.items() for p in misplaced(v, f"{path}.{k}")]
    if isinstance(tree, list):
        return [p for i, v in enumerate(tree) for p in misplaced(v, f"{path}[{i}]")]
    if isinstance(tree, str) and (m := ISO_TIME.match(tree)):
        key = re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]
        if not m["offset"] or (m["offset"] != BEIJING and key not in SIGNED):
            return [f"{path} = {tree}"]
    return []


def test_the_sweep_sees_a_bare_time_and_a_utc_one():
    assert misplaced({"a": [{"time": "2025-03-04T19:00:00"}], "b": "2025-03-04 11:15:00+00:00", "c": "2025-03-04T03:00:00+08:00",
                      "head": {"signed_at": "2026-01-01T00:00:00.000000Z"}, "d": "2025-03-04"}) == [  # fmt: skip
        "$.a[0].time = 2025-03-04T19:00:00", "$.b = 2025-03-04 11:15:00+00:00"]


@pytest.fixture(scope="module")
def swept(workbench, tmp_path_factory):
    """An API over the workbench city's lake, index and serving store, from a home of its own
    (metadata, audit, risk warnings), with something behind every route."""
    from fastapi.testclient import TestClient

    from zhijing.access.seed import seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import Settings, get_settings, reset_settings
    from zhijing.derived.risk import loop

    src = workbench.settings
    if not current_files(src, "derived", "graph_edges"):  # the relationship graph's routes answer too
        from zhijing.derived.graph import edges

        edges.run(src, "duckdb")
    home = tmp_path_factory.mktemp("sweep") / "home"
    (home / "state").mkdir(parents=True)
    for part in ("lake", "index", "city"):
        if (src.home / part).exists():
            (home / part).symlink_to(src.home / part)
    for db in ("serving.db", "metadata.db"):  # the person store; the catalog (a copy: this home's accounts and cases are its own)
        shutil.copy(src.state_dir / db, home / "state" / db)
    settings = Settings(home=home)
    loop.register(settings, "crowd", None)
    run = loop.run(settings, "crowd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        yield Client(TestClient(create_app()), logins), settings, run["run_id"]
    reset_settings()


class Client:
    """A TestClient with one token per user (a login hashes a password: slow on purpose)."""

    def __init__(self, client, logins: dict[str, str]):
        self.client, self.logins, self.tokens = client, logins, {}

    def headers(self, user: str, purpose: str | None = None) -> dict[str, str]:
        if user not in self.tokens:
            r = self.client.post("/api/auth/token", data={"username": user, "password": self.logins[user]})
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}", **({"X-Purpose": purpose} if purpose else {})}

    def __getattr__(self, name):
        return getattr(self.client, name)


def _visible_master() -> str:
    """A person of the demo case's jurisdiction with a trajectory."""
    import sqlite3

    from zhijing.access.guard import load_user
    from zhijing.access.scope import jurisdiction
    from zhijing.config import get_settings
    from zhijing.serving.person_file import places_of

    s = get_settings()
    with sqlite3.connect(s.state_dir / "serving.db") as con:
        ids = [r[0] for r in con.execute("SELECT master_id FROM person_records WHERE dataset = 'lodging' GROUP BY 1 ORDER BY count(*) DESC, 1")]
    station = jurisdiction(load_user(s, "xingzhen01").unit)
    placed = places_of(s, ids)
    return next(m for m in ids if any(p.startswith(station) for p in placed.get(m, [])))


def _fill(swept) -> dict[str, str]:
    """Things behind the routes, made through the API as an officer would; the values of path
    and required query parameters that name them."""
    api, _, run_id = swept
    h = api.headers("xingzhen01", DEMO_CASE)
    mid = _visible_master()
    point = api.get("/api/trajectory", params={"subject": f"person:{mid}", "limit": 5}, headers=h).json()["points"][0]
    assert api.post(f"/api/cases/{DEMO_CASE}/items", json={"kind": "pin", "title": "钉选", "payload": {"point": point}}, headers=h).status_code == 200
    assert api.post(f"/api/cases/{DEMO_CASE}/items", json={"kind": "note", "title": "备注", "payload": {"text": "凌晨入住"}}, headers=h).status_code == 200
    req = api.post("/api/exports", json={"master_id": mid, "reason": "移送检察院审查起诉"}, headers=h).json()
    day = point["ts"][:10]
    window = {"kind": "circle", "value": {"lon": point["lon"], "lat": point["lat"], "radius_m": 300}, "start": f"{day}T00:00", "end": f"{day}T23:59"}
    saved = api.post("/api/collision", json={"windows": [window], "save": True, "name": "扫描"}, headers=h).json()["saved_id"]
    box = api.get("/api/risk/inbox", params={"model": "crowd"}, headers=api.headers("zhihui01")).json()
    assert box["items"], "the crowd model warned of no gathering"
    return {"name": "lodging", "master_id": mid, "ref": DEMO_CASE, "request_id": req["id"], "cid": str(saved), "wid": str(box["items"][0]["id"]),
            "run_id": run_id, "seq": "1", "subject": f"person:{mid}",
            "q": "酒店", "a": f"person:{mid}", "b": f"person:{mid}", "index": mid, "role": "district",
            "incident_id": "JQ20261207000001", "assignment_id": "1",
            # routes of this session's screens: named, not yet made here (they answer 403/404 and are not swept)
            "version": "0", "layer": "station", "level": "10", "x": "0", "y": "0", "case_id": "AJ0", "doc_id": "1", "pid": "1",
            "digest": "0", "contract_id": "1", "job_id": "1", "no": "0"}  # fmt: skip


def test_every_time_the_api_returns_carries_the_zone_offset(swept):
    api, settings, _ = swept
    from zhijing.access.audit.store import log_for
    from zhijing.api.app import all_routes

    values = _fill(swept)
    log_for(settings).seal()  # a signed head, so that the proof route answers
    h = api.headers("xingzhen01", DEMO_CASE)
    others = [api.headers("ducha01"), api.headers("zhihui01")]  # the audit trail; the crowd warnings' desk
    found, answered, timed = [], [], []
    for r in all_routes(api.client.app):
        if not isinstance(r, APIRoute) or "GET" not in r.methods or not r.path.startswith("/api/") or r.path in NOT_JSON:
            continue
        names = re.findall(r"\{(\w+)\}", r.path)
        missing = [n for n in names if n not in values]
        assert not missing, f"the sweep cannot fill {r.path}: add a value for {missing}"
        path = r.path.format(**values)
        params = {p.name: values[p.name] for p in r.dependant.query_params if p.field_info.is_required()}
        for who in (h, *others):  # the officer, the auditor, the dispatcher: until one is answered with a time
            res = api.get(path, params=params, headers=who)
            if res.status_code == 200 and res.headers["content-type"].startswith("application/json"):
                body = res.json()
                answered.append(r.path)
                found += [f"{r.path}: {m}" for m in misplaced(body)]
                if any(ISO_TIME.match(s) for s in _strings(body)):
                    timed.append(r.path)
                    break
    assert not found, "\n".join(found[:40])
    # the sweep saw the places where times were wrong: the file, the workbench, cases, audit, exports, crowd warnings
    for route in ("/api/persons/{master_id}", "/api/persons/{master_id}/timeline", "/api/trajectory", "/api/companions",
                  "/api/cases/{ref}", "/api/audit/events", "/api/exports", "/api/collision/saved", "/api/risk/inbox", "/api/graph/expand",
                  "/api/catalog/{name}"):  # fmt: skip
        assert route in timed, f"{route} answered no time to check (answered: {sorted(set(answered))})"


def _strings(tree: Any):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _strings(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _strings(v)
    elif isinstance(tree, str):
        yield tree
