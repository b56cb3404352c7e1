"""The risk suite reads the session's resolved small city; truth is read here and by the
evaluation harness, never by the models."""

from __future__ import annotations

import pytest

from zhijing.config import Settings
from zhijing.derived.risk.evaluate import Truth


@pytest.fixture(scope="session")
def risk_city(resolved_city) -> tuple[Settings, Truth]:
    settings, city, _ = resolved_city
    return settings, Truth(city)


@pytest.fixture()
def risk_home(risk_city, tmp_path) -> Settings:
    """A fresh home (metadata, audit) over the shared resolved lake, with the demo users."""
    from zhijing.access.seed import seed_demo

    settings, _ = risk_city
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "lake").symlink_to(settings.lake_dir)
    s = Settings(home=tmp_path / "home")
    seed_demo(s)
    return s


@pytest.fixture(scope="module")
def risk_server(risk_city, tmp_path_factory, live_server):
    """risk_server(evaluations) -> a context manager serving the risk city's lake from a home
    of its own, with mules and black-spots registered (with these evaluations) and run:
    yields (base URL, logins)."""
    import contextlib

    @contextlib.contextmanager
    def serve(evaluations: dict | None = None):
        from zhijing.config import Settings
        from zhijing.derived.risk import loop

        home = tmp_path_factory.mktemp("risk-console") / "home"
        home.mkdir()
        (home / "lake").symlink_to(risk_city[0].lake_dir)
        with live_server(home) as (url, logins):
            settings = Settings(home=home)
            for name in ("mules", "blackspots"):
                loop.register(settings, name, (evaluations or {}).get(name))
                loop.run(settings, name)
            yield url, logins

    return serve
