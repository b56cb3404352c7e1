"""Fixtures of the command tests."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from zhijing.config import Settings


@pytest.fixture(scope="session")
def streets_home(small_city, tmp_path_factory) -> Settings:
    """A home whose lake holds only the small city's reference data (streets, stations, units):
    the geography roles the routing reads, in seconds rather than a whole ingest's minutes."""
    from zhijing.governance.ingest import ingest_reference

    s = Settings(home=tmp_path_factory.mktemp("streets") / "home")
    ingest_reference(s, small_city / "sources")
    return s


@pytest.fixture(scope="session")
def command_app():
    """command_app(small_city, home, users) -> a context manager (see ``_command_app``)."""
    return _command_app


@contextlib.contextmanager
def _command_app(small_city: Path, home: Path, users: tuple[str, ...]):
    """An API over the small city's reference data, the demo organisation seeded and the units
    placed: yields (client, tokens of ``users``, settings, the station unit of paichusuo01)."""
    from fastapi.testclient import TestClient

    from zhijing.access.guard import load_user
    from zhijing.access.seed import seed_demo
    from zhijing.api.app import create_app
    from zhijing.command import store
    from zhijing.config import get_settings, reset_settings
    from zhijing.governance.ingest import ingest_reference

    ingest_reference(Settings(home=home), small_city / "sources")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        s = get_settings()
        logins = {u: p for u, p, _ in seed_demo(s)}
        store.seed_units(s)
        client = TestClient(create_app())
        tokens = {u: client.post("/api/auth/token", data={"username": u, "password": logins[u]}).json()["access_token"]
                  for u in users}  # fmt: skip
        try:
            yield client, tokens, s, load_user(s, "paichusuo01").unit
        finally:
            reset_settings()
