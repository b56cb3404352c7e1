"""Request hardening (issue 11): anonymous refusals rate-limited and bounded in the audit
trail, the client address taken from X-Forwarded-For only behind a trusted proxy, request
bodies capped, security headers on every response, CSV cells that could run as formulas
neutralised, the API docs offline and behind login, data files private to their owner, nested
values in a push quarantined.

One app serves the module; each test keeps to its own client address."""

from __future__ import annotations

import csv
import io
import os
import stat

from fastapi.testclient import TestClient

from zhijing.access.audit.store import log_for
from zhijing.access.seed import DEMO_CASE
from zhijing.config import get_settings


def _from(api, address: str) -> TestClient:
    return TestClient(api.client.app, client=(address, 40000))


def _events_of(client: str) -> list[dict]:
    return [e for e in log_for(get_settings()).events(5000) if e["client"] == client]


def test_anonymous_refusals_are_rate_limited_and_bounded(module_api):
    """300 token-less searches with a 7 KB X-Purpose wrote 300 audit rows (4.8 MB)."""
    c = _from(module_api, "10.2.0.1")
    codes = [c.get("/api/persons/search", params={"q": "张伟"}, headers={"X-Purpose": "case:" + "x" * 7000}).status_code
             for _ in range(300)]  # fmt: skip
    limit = int(get_settings().security.anonymous_refusals.split("/")[0])
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
    rows = _events_of("10.2.0.1")
    assert len(rows) == limit + 1  # each refusal up to the limit, and once that the client went over it
    assert all(len(e["purpose"] or "") <= 200 and len(e["query"] or "") <= 200 for e in rows)
    assert _from(module_api, "10.2.0.2").get("/api/persons/search", params={"q": "张伟"}).status_code == 401  # per client


def test_forwarded_for_only_from_a_trusted_proxy(module_api, monkeypatch):
    """``X-Forwarded-For: 6.6.6.6`` was stored as the client."""
    from zhijing.api.cli import UVICORN

    assert UVICORN["proxy_headers"] is False  # uvicorn itself believes 127.0.0.1's X-Forwarded-For by default
    spoof = {"X-Forwarded-For": "6.6.6.6", "X-Purpose": DEMO_CASE}
    _from(module_api, "10.2.1.1").get("/api/persons/search", params={"q": "张伟"}, headers=spoof)
    assert [e["client"] for e in _events_of("10.2.1.1")] == ["10.2.1.1"] and not _events_of("6.6.6.6")

    monkeypatch.setattr(get_settings().security, "trusted_proxies", ["10.2.1.0/24"])
    chain = {"X-Forwarded-For": "7.7.7.7, 10.2.1.9", "X-Purpose": DEMO_CASE}  # client, then an inner proxy
    _from(module_api, "10.2.1.2").get("/api/persons/search", params={"q": "张伟"}, headers=chain)
    assert len(_events_of("7.7.7.7")) == 1 and not _events_of("10.2.1.2")


def test_request_bodies_are_capped(module_api):
    """Push accepted 15 MB bodies."""
    c = _from(module_api, "10.2.2.1")
    big = b"[" + b'{"a": "' + b"x" * (9 << 20) + b'"}]'
    r = c.post("/api/ingest/push/incident_110", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    judgement = b'{"a": "' + b"x" * (2 << 20) + b'", "b": "y", "verdict": "same"}'
    assert c.post("/api/persons/judgements", content=judgement, headers={"Content-Type": "application/json"}).status_code == 413

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(20):
            yield b"x" * (100 << 10)

    r = c.post("/api/auth/token", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_security_headers_on_every_response_and_no_store_on_the_api(module_api):
    c = _from(module_api, "10.2.3.1")
    for path in ("/", "/login", "/persons", "/static/app.js", "/api/persons/search?q=xx", "/api/catalog", "/nope"):
        h = c.get(path).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"] and "script-src 'self'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY" and h["referrer-policy"]
        assert (h.get("cache-control") == "no-store") == path.startswith("/api/"), path
    page = c.get("/persons").text
    assert "<script>" not in page and "<style" not in page  # nothing inline the CSP would block


def test_api_docs_offline_and_behind_login(module_api):
    """``/docs`` was public and loaded Swagger UI from a CDN."""
    c = _from(module_api, "10.2.4.1")
    page = c.get("/docs")
    assert page.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text and "<script>" not in page.text
    assert c.get("/openapi.json").status_code == 401
    assert c.get("/redoc").status_code == 404 and c.get("/docs/oauth2-redirect").status_code == 404
    spec = c.get("/openapi.json", headers=module_api.headers("paichusuo01"))
    assert spec.status_code == 200 and "/api/persons/search" in spec.json()["paths"]


def test_csv_cells_that_start_a_formula_are_neutralised():
    """Export CSV kept ``=HYPERLINK(...)`` as a live formula (OWASP CSV injection)."""
    from zhijing.access.masking import watermarked_csv

    hostile = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    rows = [{"value": v, "summary": "张三"} for v in hostile] + [{"value": "2024-03-05", "summary": 12}]
    text, _ = watermarked_csv(rows, ["value", "summary"], "xingzhen01", DEMO_CASE)
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))  # watermark lines first and last
    table = [dict(zip(lines[1], row, strict=True)) for row in lines[2:-1]]
    assert [r["value"] for r in table] == ["'" + v for v in hostile] + ["2024-03-05"]
    assert [r["summary"] for r in table] == ["张三"] * len(hostile) + ["12"]


def test_data_files_are_private_to_their_owner(small_city, tmp_path, monkeypatch):
    """The lake, metadata.db (password hashes) and audit.db were world-readable."""
    from typer.testing import CliRunner

    from zhijing.cli import app
    from zhijing.config import reset_settings

    home = tmp_path / "home"
    monkeypatch.setenv("ZHIJING_HOME", str(home))
    reset_settings()
    old = os.umask(0o022)  # what a login shell gives
    try:
        run = CliRunner().invoke
        assert run(app, ["access", "seed-demo"]).exit_code == 0
        out = run(app, ["ingest", "--sources", str(small_city / "sources"), "--dataset", "call_record", "--no-progress"])
        assert out.exit_code == 0, out.output
        assert run(app, ["audit", "seal"]).exit_code == 0
    finally:
        os.umask(old)
        reset_settings()
    found = [p for p in home.rglob("*")]
    names = {p.name for p in found}
    assert {"metadata.db", "audit.db"} <= names and any(p.suffix == ".parquet" for p in found)
    shared = [f"{p.relative_to(home)} {stat.filemode(p.stat().st_mode)}" for p in found if p.stat().st_mode & 0o077]
    assert not shared, shared


def test_nested_values_in_a_push_are_quarantined(settings):
    """A push stored list and dict values as clean text."""
    from zhijing.governance.push import push_records
    from zhijing.governance.quarantine import reason_counts

    good = {"jjdbh": "J1", "bjsj": "2024-03-05 13:04:05", "bjrxm": "王伟", "bjrdh": "+8613812345678"}
    batch = [good, {**good, "jjdbh": "J2", "bjrxm": ["王伟", "=1+1"]}, {**good, "jjdbh": "J3", "bjrdh": {"a": 1}}]
    r = push_records(settings, "incident_110", batch)
    assert (r["rows_in"], r["clean"], r["quarantined"]) == (3, 1, 2) and r["balanced"]
    assert reason_counts(settings, "incident_110") == {"nested_value": 2}
