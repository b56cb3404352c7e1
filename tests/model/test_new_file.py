"""A new kind of file reaches every analysis by declaration alone (issue 19, "Done when").

An internet café's login register (网吧上网登记: Chinese headers, ``2025/03/04 21:21``, GBK,
CRLF, some IDs mistyped, no unique column) — a kind of file the generated city does not have — is brought in
with exactly ``zhijing sources add <file> --yes``, ``zhijing ingest`` and ``zhijing resolve``,
and then is found by search, lies on a planted person's trajectory, makes the pair planted
together at one café on six days each other's first companion (the café register named as
the evidence), and a collision of two windows around two of their sessions returns both.
Before, the proposal had no time and no mapping, and every one of these answers was empty.

``zhijing resolve`` also rebuilds the relationship graph's edges: after the three commands the
pair are joined by a 同上网 edge whose evidence is the register.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest
from typer.testing import CliRunner

from zhijing.config import Settings, reset_settings
from zhijing.derived.workbench import collision, companions, search, trajectory, windows
from zhijing.derived.workbench.subjects import Subject
from zhijing.lake.store import current_files
from zhijing.sources.generate.netbar import FORMAT, generate_netbar

LOCAL = ZoneInfo("Asia/Shanghai")
DATASET = "netbar_login"


@pytest.fixture(scope="module")
def onboarded(small_city, tmp_path_factory):
    """(settings, truth, the three commands' outputs): the small city's sources copied into a
    fresh home, the café register generated for it, then the three commands, once."""
    from zhijing.cli import app

    root = tmp_path_factory.mktemp("newfile")
    home = root / "home"
    shutil.copytree(small_city / "sources", home / "city" / "sources")
    truth = generate_netbar(small_city, root / "netbar")
    runner, outputs = CliRunner(), {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        mp.setenv("COLUMNS", "200")
        reset_settings()
        for args in (["sources", "add", str(root / "netbar" / truth["file"]), "--yes"], ["ingest"], ["resolve"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, f"zhijing {' '.join(args)}: {result.output[-2000:]}"
            outputs[args[0]] = result.output
    reset_settings()
    return Settings(home=home), truth, outputs


def line(record_id: str) -> int:
    """The line of a record keyed by file and line (``key: _line``)."""
    return int(record_id.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def pair(onboarded) -> tuple[str, str]:
    """The planted pair's master ids, by the lines of their sessions."""
    settings, truth, _ = onboarded
    with duckdb.connect() as con:
        links = con.execute(
            f"SELECT m.record_id, l.master_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r}) l "
            f"JOIN read_parquet({current_files(settings, 'entities', 'person_mentions')!r}) m USING (mention_id) "
            f"WHERE m.dataset = '{DATASET}'").fetchall()  # fmt: skip
    master = {line(r): m for r, m in links}
    a = {master[s[0]["line"]] for s in truth["sessions"]}
    b = {master[s[1]["line"]] for s in truth["sessions"]}
    assert len(a) == len(b) == 1 and a != b, "each planted person resolves to one master of their own"
    return a.pop(), b.pop()


def test_the_proposal_is_the_cafes_mapping_and_ingest_counts_what_has_no_place(onboarded):
    settings, truth, out = onboarded
    declared = (settings.home / "sources" / f"{DATASET}.yaml").read_text(encoding="utf-8")
    assert "{type: access, roles: {holder: self}, time: 上机时间, end: 下机时间, place: {kind: netbar, code: 场所编码" in declared
    assert "persons:\n  - {role: self, name: 姓名, citizen_id: 证件号码}\n" in declared and "\nkey: _line\n" in declared
    row = next(line for line in out["ingest"].splitlines() if DATASET in line and "access" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[:2] == [DATASET, "access"] and cells[-1] == str(truth["unplaced_rows"]) != "0"


def test_search_finds_a_cafe_record(onboarded):
    settings, truth, _ = onboarded
    found = search.query(settings, truth["cafe"]["name"], datasets=[DATASET])
    assert found["total"] and found["groups"][0]["hits"][0]["dataset"] == DATASET


def test_the_trajectory_holds_the_cafe_sessions(onboarded, pair):
    settings, truth, _ = onboarded
    points = trajectory.trajectory(settings, Subject("person", (pair[0],)))["points"]
    cafe = {line(p["record_id"]) for p in points if p["dataset"] == DATASET and p["place_id"] == truth["cafe"]["code"]}
    assert cafe >= {s[0]["line"] for s in truth["sessions"]}


def test_the_planted_pair_are_each_others_first_companion_by_the_cafe(onboarded, pair):
    settings, _, _ = onboarded
    for me, other in (pair, pair[::-1]):
        top = companions.companions(settings, Subject("person", (me,)))["companions"][0]
        assert top["subject"] == other and top["events"] == 6
        assert {e["dataset"] for e in top["evidence"]} == {DATASET}


def test_a_collision_around_two_sessions_returns_both(onboarded, pair):
    settings, truth, _ = onboarded
    lon, lat = map(float, truth["cafe"]["lonlat"].split(","))
    specs = []
    for day in truth["sessions"][:2]:
        t = datetime.strptime(day[0]["start"], FORMAT).replace(tzinfo=LOCAL)
        specs.append({"kind": "circle", "value": {"lon": lon, "lat": lat, "radius_m": 150},
                      "start": (t - timedelta(minutes=30)).isoformat(), "end": (t + timedelta(minutes=30)).isoformat()})  # fmt: skip
    hits = collision.collide(settings, windows.parse(settings, specs), k=2, kinds=["person"])["hits"]
    assert set(pair) <= {h["subject"] for h in hits}
    assert {e["dataset"] for h in hits if h["subject"] in pair for e in h["evidence"]} == {DATASET}


def test_the_graph_joins_the_pair_by_the_cafe(onboarded, pair):
    settings, _, _ = onboarded  # `zhijing resolve` rebuilt the graph's edges: no separate graph build
    a, b = sorted(f"P:{m}" for m in pair)
    with duckdb.connect() as con:
        found = con.execute(f"SELECT DISTINCT dataset FROM read_parquet({current_files(settings, 'derived', 'graph_evidence')!r}) "
                            "WHERE src = $a AND dst = $b AND type = 'co_netbar'", {"a": a, "b": b}).fetchall()  # fmt: skip
    assert found == [(DATASET,)]


def test_the_truth_file_names_the_pair_and_six_sessions(onboarded):
    _, truth, _ = onboarded
    on_disk = json.loads((onboarded[0].home.parent / "netbar" / "truth" / "netbar.json").read_text(encoding="utf-8"))
    assert on_disk == truth and len(truth["pair"]) == 2 and len(truth["sessions"]) == 6
