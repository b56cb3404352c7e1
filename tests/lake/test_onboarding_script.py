"""Done when (issue 12): in a fresh ZHIJING_HOME with no city, four commands take a new
CSV from file to resolved masters and read every record's master back — without touching
the package — and the read-back goes through the access layer like every other use."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from itertools import combinations

import pytest
from onboard_people import records, write
from typer.testing import CliRunner

from zhijing.config import reset_settings
from zhijing.errors import AccessDenied


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    """(run, home, truth, outputs of the four commands), run once."""
    from _pytest.monkeypatch import MonkeyPatch

    from zhijing.cli import app

    home = tmp_path_factory.mktemp("fresh") / "home"
    rows, truth = records(n_people=120)
    path = write(tmp_path_factory.mktemp("outside") / "来访人员.csv", rows, "gbk", "\r\n")
    mp = MonkeyPatch()
    mp.setenv("ZHIJING_HOME", str(home))
    reset_settings()

    def run(*args: str):
        return CliRunner().invoke(app, list(args))

    out = [
        run("sources", "add", str(path), "--name", "visitors", "--yes"),
        run("ingest", "--dataset", "visitors", "--no-progress"),
        run("resolve"),
        run("persons", "links", "--dataset", "visitors", "--purpose", "与信访办对账", "--format", "csv"),
    ]
    yield run, home, truth, out
    mp.undo()
    reset_settings()


def test_four_commands_take_a_new_file_to_resolved_masters(script):
    _, home, truth, out = script
    for r in out:
        assert r.exit_code == 0, (r.output, r.exception)
    assert (home / "sources" / "visitors.yaml").is_file() and not (home / "city").exists()
    links = list(csv.DictReader(io.StringIO(out[3].stdout_bytes.decode("utf-8"))))
    assert sorted(r["record_id"] for r in links) == sorted(truth), "every record maps to exactly one master"
    assert all(r["master_id"].startswith("PM") and r["evidence"] and 0 < float(r["match_probability"]) <= 1 for r in links)
    master = {r["record_id"]: r["master_id"] for r in links}
    pairs = list(combinations(sorted(truth), 2))
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    same_found = {p for p in pairs if master[p[0]] == master[p[1]]}
    tp = len(same_true & same_found)
    precision, recall = tp / len(same_found), tp / len(same_true)
    assert precision >= 0.99 and recall >= 0.95, (precision, recall)


def test_the_read_back_is_audited_as_the_operator(script):
    _, home, _, _ = script
    with sqlite3.connect(home / "state" / "audit.db") as con:
        events = con.execute("SELECT actor, operation, outcome, purpose, records FROM audit_events ORDER BY seq").fetchall()
    opened, disclosed = events[-2], events[-1]
    assert opened[:3] == ("operator", "alter", "allowed") and opened[3].startswith("ticket:DC-")
    assert disclosed[:4] == ("operator", "disclose", "allowed", opened[3]) and json.loads(disclosed[4]) == ["dataset:visitors"]


def test_a_read_back_the_policy_refuses_is_refused_and_audited(script):
    run, home, _, _ = script
    r = run("persons", "links", "--dataset", "visitors", "--purpose", "case:NOPE", "--format", "csv")
    assert isinstance(r.exception, AccessDenied) and r.exception.exit_code == 3 and "unknown purpose" in str(r.exception)
    with sqlite3.connect(home / "state" / "audit.db") as con:
        last = con.execute("SELECT actor, operation, outcome, purpose FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("operator", "disclose", "refused", "case:NOPE")


def test_read_back_of_an_unknown_dataset_lists_the_known_ones(script):
    run, _, _, _ = script
    r = run("persons", "links", "--dataset", "nope", "--purpose", "x")
    assert r.exit_code != 0 and "visitors" in str(r.exception or r.output)


def test_the_catalog_shows_the_new_source_with_its_profile(script):
    from zhijing.config import get_settings
    from zhijing.governance import catalog

    entry = catalog.get(get_settings(), "visitors")
    prof = entry["profile"]
    assert entry["declared_in"] == "visitors.yaml" and prof["rows"] == entry["rows"]
    assert prof["encoding"] == "gb18030" and prof["line_endings"]["crlf"] == prof["rows"] + 1
    elements = {c["name"]: c["element"] for c in prof["columns"]}
    assert elements == {"记录编号": "record_id", "姓名": "name", "公民身份号码": "citizen_id", "出生日期": "birth_date",
                        "性别": "sex", "联系电话": "phone", "住址": "address", "登记日期": "date"}  # fmt: skip


def test_resolve_and_graph_build_end_with_tables_not_raw_dicts(script):
    """Issue 18 item 10: both printed a Python dict as their last words."""
    run, _, _, out = script
    graph = run("graph", "build")
    assert graph.exit_code == 0, (graph.output, graph.exception)
    for r in (out[2], graph):
        assert "{'" not in r.output and "':" not in r.output, r.output
    assert "一人一档 person master" in out[2].output and "serving store" in out[2].output
    assert "graph edges" in graph.output
