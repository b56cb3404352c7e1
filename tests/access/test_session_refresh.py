"""A session that lasts a shift (issue 21): refresh tokens bound to the login session, rotated
on use, refused once the session is ended, idle, expired, reused or its account disabled —
with a simulated clock (``sessions.now``) making a session old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhijing.access import sessions
from zhijing.access.seed import set_active
from zhijing.config import get_settings


def _login(api, user: str, minutes_ago: float = 0, monkeypatch=None) -> dict:
    """A login made ``minutes_ago`` (the sessions' clock moved back while it is made)."""
    if minutes_ago:
        monkeypatch.setattr(sessions, "now", lambda: datetime.now(UTC) - timedelta(minutes=minutes_ago))
    r = api.post("/api/auth/token", data={"username": user, "password": api.logins[user]})
    monkeypatch and monkeypatch.undo()
    assert r.status_code == 200, r.text
    return r.json()


def _me(api, body: dict):
    return api.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})


def _refresh(api, token: str):
    return api.post("/api/auth/refresh", data={"refresh_token": token})


def test_a_16_minute_old_session_renews_in_a_new_tab(module_api, monkeypatch):
    old = _login(module_api, "xingzhen01", 16, monkeypatch)
    assert old["refresh_token"] and old["expires_in"] == 900
    gone = _me(module_api, old)
    assert gone.status_code == 401 and gone.json()["detail"] == "token expired"  # the access token alone does not last
    new = _refresh(module_api, old["refresh_token"])  # what a new tab does with the shared refresh token
    assert new.status_code == 200, new.text
    assert _me(module_api, new.json()).json()["username"] == "xingzhen01"
    assert new.json()["refresh_token"] != old["refresh_token"]  # rotated


def test_a_reused_refresh_token_ends_the_session(module_api):
    first = _login(module_api, "fenxi01")
    second = _refresh(module_api, first["refresh_token"]).json()
    assert _me(module_api, second).status_code == 200
    stolen = _refresh(module_api, first["refresh_token"])  # the rotated one, presented again
    assert stolen.status_code == 401 and "used twice" in stolen.json()["detail"]
    assert _me(module_api, second).status_code == 401  # the whole session is over, for the owner too
    assert _refresh(module_api, second["refresh_token"]).status_code == 401


def test_logout_and_idle_and_expiry_refuse_the_refresh(module_api, monkeypatch):
    s = get_settings()
    a = _login(module_api, "kezhang01")
    assert module_api.post("/api/auth/logout", data={"refresh_token": a["refresh_token"]}).status_code == 200  # access token may have expired
    assert _refresh(module_api, a["refresh_token"]).status_code == 401 and _me(module_api, a).status_code == 401
    b = _login(module_api, "kezhang01")
    module_api.post("/api/auth/logout", headers={"Authorization": f"Bearer {b['access_token']}"})
    assert _refresh(module_api, b["refresh_token"]).status_code == 401
    idle = _login(module_api, "kezhang01", s.auth.idle_minutes + 1, monkeypatch)
    r = _refresh(module_api, idle["refresh_token"])
    assert r.status_code == 401 and "idle" in r.json()["detail"]
    shift = _login(module_api, "kezhang01", s.auth.session_hours * 60 + 1, monkeypatch)
    assert _refresh(module_api, shift["refresh_token"]).json()["detail"] == "session ended"
    assert _refresh(module_api, "not-a-token").status_code == 401


def test_a_disabled_account_loses_its_sessions(module_api):
    a = _login(module_api, "zhihui01")
    set_active(get_settings(), "zhihui01", False)
    try:
        assert _me(module_api, a).status_code == 401
        assert _refresh(module_api, a["refresh_token"]).status_code == 401
    finally:
        set_active(get_settings(), "zhihui01", True)
    assert _refresh(module_api, a["refresh_token"]).status_code == 401  # enabled again: a new login, not the old session


@pytest.mark.parametrize("field", ["", "x" * 129])
def test_refresh_refuses_bad_input_in_one_line(module_api, field):
    r = module_api.post("/api/auth/refresh", data={"refresh_token": field})
    assert r.status_code in (401, 422) and "detail" in r.json()
