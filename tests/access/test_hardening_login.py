"""Login hardening (issue 11): lockout after repeated failures per account and per client,
failed logins audited without the password, unknown users checked against a dummy hash
like wrong passwords, TOTP as a second factor, and one's own sessions listed and ended.

One app serves the module; each test keeps to its own accounts and client address."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from fastapi.testclient import TestClient

from zhijing.access.audit.store import log_for
from zhijing.config import get_settings


def _from(api, address: str) -> TestClient:
    return TestClient(api.client.app, client=(address, 40000))


def _login(client, user: str, password: str, **extra):
    return client.post("/api/auth/token", data={"username": user, "password": password, **extra})


def test_lockout_after_repeated_failures_even_with_the_right_password(module_api, monkeypatch):
    """30 wrong passwords, then the right one, was accepted."""
    monkeypatch.setattr(get_settings().security, "login_max_failures", 3)
    c = _from(module_api, "10.0.1.1")
    for _ in range(3):
        assert _login(c, "admin", "wrong-password").status_code == 401
    r = _login(c, "admin", module_api.logins["admin"])
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert _login(_from(module_api, "10.0.1.2"), "admin", module_api.logins["admin"]).status_code == 429  # the account
    assert _login(c, "paichusuo01", module_api.logins["paichusuo01"]).status_code == 200  # others are not locked


def test_lockout_per_client_across_accounts(module_api, monkeypatch):
    """Guessing one password each against many accounts locks the client address."""
    monkeypatch.setattr(get_settings().security, "login_client_max_failures", 3)
    c = _from(module_api, "10.0.2.1")
    for i in range(3):
        assert _login(c, f"nobody{i}", "guess").status_code == 401
    assert _login(c, "paichusuo01", module_api.logins["paichusuo01"]).status_code == 429
    assert _login(_from(module_api, "10.0.2.2"), "paichusuo01", module_api.logins["paichusuo01"]).status_code == 200


def test_failed_logins_are_audited_without_the_password(module_api):
    c = _from(module_api, "10.0.3.1")
    _login(c, "weijian01", "hunter2-secret")
    _login(c, "no-such-user", "another-secret")
    refused = [e for e in log_for(get_settings()).events(500) if e["client"] == "10.0.3.1"]
    assert [(e["actor"], e["outcome"], e["query"]) for e in refused] == [("anonymous", "refused", "login"),
                                                                         ("weijian01", "refused", "login")]  # fmt: skip
    assert all(e["reason"] == "wrong user or password" for e in refused)
    assert not any("secret" in str(e) or "no-such-user" in str(e) for e in refused)  # typed text is not kept


def test_unknown_users_cost_the_same_password_check_as_wrong_passwords(module_api, monkeypatch):
    """Unknown user 4 ms, wrong password 129 ms (user enumeration): both now run one Argon2 check."""
    from argon2 import PasswordHasher

    c, calls, real = _from(module_api, "10.0.4.1"), [], PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: calls.append(h) or real(self, h, p))
    answers = []
    for user in ("weijian01", "no-such-user"):
        calls.clear()
        r = _login(c, user, "wrong-password")
        answers.append((r.status_code, r.json()))
        assert len(calls) == 1 and calls[0].startswith("$argon2id$"), user
    assert answers[0] == answers[1] == (401, {"detail": "wrong user or password"})


def test_totp_second_factor(module_api, monkeypatch):
    from typer.testing import CliRunner

    from zhijing.cli import app

    c, password = _from(module_api, "10.0.5.1"), module_api.logins["ducha01"]
    monkeypatch.setattr(get_settings().security, "totp_required_for", ["督察"])
    assert _login(c, "ducha01", password).status_code == 403  # required for 督察, not enrolled
    assert _login(c, "xingzhen01", module_api.logins["xingzhen01"]).status_code == 200  # not for 刑侦

    out = CliRunner().invoke(app, ["users", "totp", "ducha01"])
    assert out.exit_code == 0 and "otpauth://totp/" in out.output
    secret = pyotp.parse_uri(out.output[out.output.index("otpauth://"):].split()[0]).secret
    assert _login(c, "ducha01", password).status_code == 401  # no code
    near = {pyotp.TOTP(secret).at(datetime.now(UTC), counter_offset=i) for i in range(-3, 4)}  # "000000" itself is right 3 times in 10^6
    assert _login(c, "ducha01", password, totp=next(w for w in ("000000", "111111") if w not in near)).status_code == 401
    code = pyotp.TOTP(secret).at(datetime.now(UTC))
    assert _login(c, "ducha01", password, totp=code).status_code == 200
    assert _login(c, "ducha01", password, totp=code).status_code == 401  # a code is good once
    assert CliRunner().invoke(app, ["users", "totp", "ducha01", "--remove"]).exit_code == 0


def test_sessions_listed_ended_and_refused_after(module_api):
    api = module_api
    first, second, other = api.headers("xingzhen01"), api.headers("xingzhen01"), api.headers("paichusuo01")
    listed = api.get("/api/auth/sessions", headers=first).json()["sessions"]
    current = [s for s in listed if s["current"]]
    assert len(current) == 1 and len(listed) >= 2 and all(len(s["sid"]) == 32 for s in listed)
    mine = next(s["sid"] for s in listed if not s["current"])  # the second login is newest
    theirs = api.get("/api/auth/sessions", headers=other).json()["sessions"][0]["sid"]
    assert api.delete(f"/api/auth/sessions/{theirs}", headers=first).status_code == 404  # not one's own
    assert api.delete(f"/api/auth/sessions/{mine}", headers=first).status_code == 200
    assert api.get("/api/me", headers=second).status_code == 401  # the ended session's token
    assert api.get("/api/me", headers=first).status_code == 200 and api.get("/api/me", headers=other).status_code == 200
    assert api.post("/api/auth/logout", headers=first).status_code == 200
    assert api.get("/api/me", headers=first).status_code == 401
