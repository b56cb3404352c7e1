"""Fixtures of the command tests."""

from __future__ import annotations

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
