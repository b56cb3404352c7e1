"""The guard remembers a request's access checks (session, user, purpose) between requests
only under the same change count of the metadata database, which triggers bump on every
write — so a write from anywhere (another worker, an administrator at the SQL prompt) is
obeyed on the very next request, and an expiry on the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhijing.access import generation, models, purpose
from zhijing.access.seed import DEMO_CASE
from zhijing.config import get_settings

PATH = "/api/persons/search"


def _passes(api, headers) -> bool:
    """Past the guard (whatever the empty deployment then answers), or refused by it."""
    status = api.get(PATH, headers=headers, params={"q": "张伟"}).status_code
    return status not in (401, 403)


def _sql(statement: str, **params) -> None:
    """A write that bypasses the application: a second engine of the same database."""
    eng = sa.create_engine(get_settings().sqlalchemy_url("metadata"))
    with eng.begin() as conn:
        conn.execute(sa.text(statement), params)
    eng.dispose()


def test_a_purpose_closed_behind_the_application_is_refused_next_request(api):
    h = api.headers("xingzhen01", DEMO_CASE)
    assert _passes(api, h) and _passes(api, h)  # the second from memory
    _sql("UPDATE acc_purposes SET status = 'closed' WHERE ref = :r", r=DEMO_CASE)
    assert not _passes(api, h)
    _sql("UPDATE acc_purposes SET status = 'open' WHERE ref = :r", r=DEMO_CASE)
    assert _passes(api, h)


@pytest.mark.parametrize("write", ["UPDATE acc_users SET active = false WHERE username = 'xingzhen01'",
                                   "UPDATE acc_sessions SET revoked_at = CURRENT_TIMESTAMP WHERE username = 'xingzhen01'",
                                   "DELETE FROM acc_assignments WHERE username = 'xingzhen01'"])  # fmt: skip
def test_a_user_session_or_assignment_changed_anywhere_is_obeyed(api, write):
    h = api.headers("xingzhen01", DEMO_CASE)
    assert _passes(api, h) and _passes(api, h)
    before = generation.current(get_settings())
    _sql(write)
    assert generation.current(get_settings()) > before
    assert not _passes(api, h)


def test_logout_ends_the_token_at_once(api):
    h = api.headers("xingzhen01", DEMO_CASE)
    assert _passes(api, h)
    assert api.post("/api/auth/logout", headers=h).status_code in (200, 204)
    assert api.get(PATH, headers=h, params={"q": "张伟"}).status_code == 401


def test_a_remembered_purpose_expires_on_the_clock(api, monkeypatch):
    """The clock is moved, not waited for: an expiry a few seconds ahead passed before the
    first request on a loaded machine (login and two requests took over 2 s)."""
    settings = get_settings()
    with models.engine(settings).begin() as conn:
        conn.execute(sa.update(models.purposes).where(models.purposes.c.ref == DEMO_CASE)
                     .values(expires_at=datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
    h = api.headers("xingzhen01", DEMO_CASE)
    assert _passes(api, h) and _passes(api, h)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(hours=2)

    monkeypatch.setattr(purpose, "datetime", Later)  # no write happens: only the clock
    assert not _passes(api, h)


def test_unwatched_writes_do_not_forget(api):
    """A failed login (lockout counters) is not a change of what the checks read."""
    settings = get_settings()
    api.headers("xingzhen01", DEMO_CASE)
    before = generation.current(settings)
    api.post("/api/auth/token", data={"username": "xingzhen01", "password": "wrong password"})
    assert generation.current(settings) == before


def test_postgresql_bumps_the_count_on_every_watched_write(tmp_path, postgres):
    """The same triggers in PostgreSQL (a statement-level trigger function), in a schema of
    the test's own."""
    from zhijing.access import seed
    from zhijing.config import Settings

    base, admin = postgres
    with admin.begin() as c:
        c.execute(sa.text("DROP SCHEMA IF EXISTS zj_generation CASCADE; CREATE SCHEMA zj_generation"))
    try:
        settings = Settings(home=tmp_path / "home", metadata_url=f"{base}?options=-csearch_path%3Dzj_generation")
        seed.seed_demo(settings)
        counts = [generation.current(settings)]
        seed.set_purpose_status(settings, DEMO_CASE, "closed")
        counts.append(generation.current(settings))
        with admin.begin() as c:  # behind the application's back
            c.execute(sa.text("UPDATE zj_generation.acc_users SET active = false WHERE username = 'xingzhen01'"))
        counts.append(generation.current(settings))
        assert counts[0] < counts[1] < counts[2], counts
    finally:
        with admin.begin() as c:
            c.execute(sa.text("DROP SCHEMA IF EXISTS zj_generation CASCADE"))
