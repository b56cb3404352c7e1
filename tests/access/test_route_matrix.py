"""The policy test matrix: every route of the app declares its permission and whether it
serves person-level data; person-level routes refuse without a valid purpose."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from zhijing.access.guard import declared
from zhijing.access.seed import DEMO_CASE
from zhijing.api.app import all_routes, create_app

PERSON_PATHS = re.compile(r"/api/(persons|quarantine|masters|export|graph)")
STATIC_MOUNTS = {"/static"}


def _routes():
    return all_routes(create_app())


def test_every_route_declares_access():
    missing = []
    for r in _routes():
        if isinstance(r, Mount):
            assert r.path in STATIC_MOUNTS, f"unexpected mount {r.path}"
            continue
        if not isinstance(r, APIRoute):
            continue  # FastAPI's own docs routes are not ours... but see the next test
        if not declared(r.dependant):
            missing.append(f"{sorted(r.methods)} {r.path}")
    assert not missing, "routes without require(...): " + ", ".join(missing)


def test_framework_routes_are_only_the_docs():
    others = {r.path for r in _routes() if not isinstance(r, (APIRoute, Mount))}
    assert others <= {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_person_level_paths_declare_person_data():
    for r in _routes():
        if isinstance(r, APIRoute) and PERSON_PATHS.match(r.path):
            assert any(person for _, person in declared(r.dependant)), r.path


def _person_routes():
    out = []
    for r in _routes():
        if isinstance(r, APIRoute) and any(person for _, person in declared(r.dependant)):
            for m in r.methods:
                path = re.sub(r"\{[^}]+\}", "X1", r.path)
                out.append((m, path))
    return out


def test_there_are_person_routes_to_check():
    assert len(_person_routes()) >= 1


@pytest.mark.parametrize("purpose", [None, "case:NOPE", "case:A330200000000003", "case:OTHER", "bogus"])
def test_no_person_route_answers_without_a_valid_purpose(api, purpose):
    """No purpose, an unknown one, a closed case, someone else's case held by a unit the
    caller does not supervise, and garbage: every person-level route refuses, with a
    reason and no data."""
    from zhijing.access.seed import add_purpose
    from zhijing.config import get_settings

    add_purpose(get_settings(), "case:OTHER", "他人案件", "330200000000", ["paichusuo01"])
    h = api.headers("xingzhen01", purpose)
    for method, path in _person_routes():
        r = api.request(method, path, headers=h, params={"q": "张伟", "a": "x", "b": "y"})
        assert r.status_code == 403, (method, path, purpose, r.status_code)
        assert set(r.json()) == {"detail"} and len(r.json()["detail"]) < 120


def test_person_routes_refuse_anonymous_and_audit_it(api, monkeypatch):
    from zhijing.access.audit.store import log_for
    from zhijing.config import get_settings, reset_settings

    # more person routes than the default 30 anonymous refusals a minute: the limit is tested on its own
    monkeypatch.setenv("ZHIJING_SECURITY__ANONYMOUS_REFUSALS", "1000/minute")
    reset_settings()

    for method, path in _person_routes():
        assert api.request(method, path, headers={"X-Purpose": DEMO_CASE}).status_code == 401
    refused = [e for e in log_for(get_settings()).events(1000) if e["outcome"] == "refused"]
    assert len(refused) >= len(_person_routes())
