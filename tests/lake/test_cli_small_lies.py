"""Issue 18 item 10, the small lies of the command line: distinct counts above the row count,
a declaration key the docs do not list, and no way to list purposes without reading the
metadata database (a declined save: test_onboarding.py; raw dicts: test_onboarding_script.py;
Spark's noise: test_spark_quiet.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from onboard_people import write
from rich.console import Console
from typer.testing import CliRunner

from zhijing.cli import app
from zhijing.config import reset_settings

DOCS = Path(__file__).parents[2] / "docs" / "sources.md"


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIJING_HOME", str(tmp_path / "home"))
    reset_settings()
    yield tmp_path / "home"
    reset_settings()


def test_no_column_has_more_distinct_values_than_rows(tmp_path):
    """HyperLogLog ran a few per cent high (3,048 distinct in 3,020 rows): near-unique columns are counted exactly."""
    from zhijing.sources.profile import profile_file

    rows = [["编号", "姓名", "备注"]] + [[f"V{i:08d}", f"王{i % 97}", f"n{i % 5}"] for i in range(3020)]
    prof = profile_file(write(tmp_path / "v.csv", rows))
    by_name = {c.name: c for c in prof.columns}
    assert prof.rows == 3020 and by_name["编号"].distinct == 3020
    assert all(c.distinct <= round(c.filled * prof.rows) for c in prof.columns), [(c.name, c.distinct) for c in prof.columns]


def test_the_docs_list_every_declaration_key():
    from zhijing.sources.spec import DatasetSpec

    table = DOCS.read_text(encoding="utf-8").split("| key | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = {k for line in table.splitlines() for k in re.findall(r"`([a-z_]+)`", line.split("|")[1] if "|" in line else "")}
    assert set(DatasetSpec.model_fields) - documented == set()


def test_purposes_list_names_every_purpose_and_who_is_assigned(home, monkeypatch):
    from zhijing.access.seed import DEMO_CASE, seed_demo
    from zhijing.config import get_settings

    seed_demo(get_settings())
    monkeypatch.setattr("zhijing.access.cli.console", Console(width=250))
    out = CliRunner().invoke(app, ["purposes", "list"])
    assert out.exit_code == 0, out.output
    assert DEMO_CASE in out.output and "ticket:GD2026000001" in out.output and "xingzhen01, " in out.output
    mine = CliRunner().invoke(app, ["purposes", "list", "--user", "paichusuo01", "--open"])
    assert "ticket:GD2026000001" in mine.output and DEMO_CASE not in mine.output
    assert "case:A330200000000003" not in mine.output  # closed
