"""The risk suite reads the session's resolved small city; truth is read here, never by models."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from zhijing.config import Settings


class Truth:
    def __init__(self, city: Path):
        self.root = city / "truth"

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / "structures" / f"{name}.parquet")

    def json(self, name: str) -> dict:
        return json.loads((self.root / "structures" / f"{name}.json").read_text(encoding="utf-8"))

    def file(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / f"{name}.parquet")


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


def f1(found: set, truth: set) -> tuple[float, float, float]:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if tp else 0.0)
