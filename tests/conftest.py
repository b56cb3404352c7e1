"""Shared fixtures: one small generated city per test session, reused by every suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhijing.config import Settings


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> Path:
    """A 10^4-person city (sources + truth), generated once."""
    from zhijing.sources.generate.testing import small_city as make

    return make(tmp_path_factory.mktemp("cities"))


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """Settings rooted in a fresh temporary home (never ./var)."""
    return Settings(home=tmp_path / "home")
