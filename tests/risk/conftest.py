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
