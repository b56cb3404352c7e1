"""Source onboarding without code, and nothing lost without a word (issue 12).

Each silent-loss case is a test that failed before: a CRLF file landed 0 rows with status
ok; an unknown --dataset printed an empty table and exited 0; a file in a sources folder
with no declaration was ignored; a declaration could only live inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from onboard_people import HEADER, records, write
from typer.testing import CliRunner

from zhijing.config import Settings, reset_settings
from zhijing.errors import ZhijingError
from zhijing.governance import catalog, jobs
from zhijing.governance.ingest import ingest_city
from zhijing.sources import declarations
from zhijing.sources.connectors import files
from zhijing.sources.spec import load_spec, packaged_spec

DECLARATION = """\
name: visitors
title: 来访登记
owner: 信访办
format: csv
path: visitors/*.csv
key: 记录编号
grade: 重要
pi: sensitive
retention_days: 3650
fields:
  - {name: 记录编号, element: record_id}
  - {name: 姓名, element: name}
  - {name: 公民身份号码, element: citizen_id}
  - {name: 出生日期, element: birth_date}
  - {name: 性别, element: sex}
  - {name: 联系电话, element: phone}
  - {name: 住址, element: address}
  - {name: 登记日期, element: date}
persons:
  - {role: self, name: 姓名, citizen_id: 公民身份号码, sex: 性别, birth_date: 出生日期, phone: 联系电话, address: 住址}
"""


@pytest.fixture()
def home(tmp_path) -> Settings:
    s = Settings(home=tmp_path / "home")
    (s.home / "sources").mkdir(parents=True)
    (s.home / "sources" / "visitors.yaml").write_text(DECLARATION, encoding="utf-8")
    return s


@pytest.fixture()
def cli(home, monkeypatch):
    from zhijing.cli import app

    monkeypatch.setenv("ZHIJING_HOME", str(home.home))
    reset_settings()
    yield lambda *args, input=None: CliRunner().invoke(app, list(args), input=input)
    reset_settings()


def _rows(n: int = 40) -> list[list[str]]:
    rows, _ = records(n_people=n // 2)
    return rows[: n + 1]


def _ingest(s: Settings) -> dict:
    out = ingest_city(s, progress=False, datasets=["visitors"])["datasets"][0]
    assert out["balanced"], out
    return out


# ---------------------------------------------------------------------------- declarations


def test_a_deployment_declaration_is_seen_by_every_reader(home):
    spec = load_spec(home)
    assert "visitors" in [d.name for d in spec.datasets] and "hukou_person" in [d.name for d in spec.datasets]
    visitors = spec.dataset("visitors")
    assert visitors.declared_in == home.home / "sources" / "visitors.yaml"
    assert visitors.root(Path("/elsewhere")) == (home.home / "sources").resolve()
    assert "visitors" not in [d.name for d in packaged_spec().datasets]
    assert catalog.field_grades(home, "visitors")["公民身份号码"] == "sensitive"


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (("{name: 性别, element: sex}", "{name: 性别, element: gender}"), "visitors.yaml:15: fields[4].element"),
        (("key: 记录编号", "key: 编号"), "visitors.yaml:6: key: '编号' is not one of the declared fields"),
        (("citizen_id: 公民身份号码, sex", "citizen_id: 身份证, sex"), "visitors.yaml:20: persons[0].citizen_id"),
        (("retention_days: 3650\n", ""), "visitors.yaml:1: retention_days: missing"),
        (("name: visitors", "name: hukou_person"), "visitors.yaml:1: name: dataset 'hukou_person' is already declared"),
        (("title: 来访登记", "title: [来访"), "visitors.yaml:3: (file): not valid YAML"),
    ],
)
def test_a_bad_declaration_names_file_line_and_field(home, cli, edit, where):
    path = home.home / "sources" / "visitors.yaml"
    path.write_text(DECLARATION.replace(*edit), encoding="utf-8")
    r = cli("sources", "check")
    assert r.exit_code == 1 and where in r.output, r.output
    with pytest.raises(declarations.DeclarationError, match="visitors.yaml:"):
        load_spec(home)


def test_sources_check_passes_a_good_declaration(cli):
    r = cli("sources", "check")
    assert r.exit_code == 0 and "1 dataset(s)" in r.output, r.output


# ---------------------------------------------------------------------------- silent loss


@pytest.mark.parametrize(("ending", "encoding"), [("\r\n", "utf-8"), ("\r", "gbk"), ("mixed", "utf-8-sig")])
def test_every_line_ending_lands_every_row(home, ending, encoding):
    rows = _rows(30)
    text = "".join(",".join(r) + (ending if ending != "mixed" else ("\n", "\r\n", "\r")[i % 3]) for i, r in enumerate(rows))
    (home.home / "sources" / "visitors").mkdir()
    (home.home / "sources" / "visitors" / "v.csv").write_bytes(text.encode(encoding))
    out = _ingest(home)
    assert out["status"] == "ok" and out["rows_in"] == 30 and out["clean"] == 30, out


def test_trailing_delimiters_land_and_an_extra_value_is_quarantined(home):
    rows = _rows(10)
    lines = [",".join(r) + "," for r in rows]
    lines[3] += "多出来的值"
    (home.home / "sources" / "visitors").mkdir()
    (home.home / "sources" / "visitors" / "v.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    out = _ingest(home)
    assert (out["rows_in"], out["clean"], out["quarantined"]) == (10, 9, 1) and out["reasons"] == {"extra_columns": 1}, out


def test_a_non_empty_file_that_lands_no_row_is_an_error(home, monkeypatch):
    real = files._reader
    monkeypatch.setattr(files, "_reader", lambda *a: f"(SELECT * FROM {real(*a)} WHERE random() < 0)")  # a reader that loses every row
    write(home.home / "sources" / "visitors" / "v.csv", _rows(5))
    out = ingest_city(home, progress=False, datasets=["visitors"])["datasets"][0]
    assert out["status"] == "failed" and "5 non-blank line(s) but none could be read" in out["error"], out


def test_a_header_only_file_is_not_an_error(home):
    write(home.home / "sources" / "visitors" / "v.csv", [HEADER])
    out = _ingest(home)
    assert out["status"] in ("ok", "unchanged") and out["rows_in"] == 0, out


def test_an_unknown_dataset_fails_listing_the_known_ones(home, cli):
    with pytest.raises(ZhijingError, match="unknown dataset nope; known datasets: .*hukou_person.*visitors"):
        ingest_city(home, progress=False, datasets=["nope"])
    r = cli("ingest", "--dataset", "nope", "--no-progress")
    assert r.exit_code != 0


def test_an_undeclared_file_is_reported_and_fails_the_run(home, cli):
    write(home.home / "sources" / "visitors" / "v.csv", _rows(5))
    write(home.home / "sources" / "hotel" / "guests.csv", _rows(5))
    summary = ingest_city(home, progress=False)
    assert summary["undeclared"] == ["sources/hotel/guests.csv"] and summary["datasets"][0]["clean"] == 5
    r = cli("ingest", "--no-progress")
    assert r.exit_code == 1 and "undeclared" in r.output and "guests.csv" in r.output, r.output


def test_every_run_prints_the_identity_per_file(home, cli):
    write(home.home / "sources" / "visitors" / "a.csv", _rows(6))
    rows = _rows(8)
    write(home.home / "sources" / "visitors" / "b.csv", rows + [rows[2]])  # one duplicate
    r = cli("ingest", "--dataset", "visitors", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "per file" in r.output and "visitors/a.csv" in r.output and "visitors/b.csv" in r.output
    summary = ingest_city(home, progress=False, datasets=["visitors"])  # nothing new: unchanged
    assert summary["datasets"][0]["status"] == "unchanged"


def test_a_file_whose_rows_do_not_add_up_fails_and_publishes_nothing(home, monkeypatch):
    real = jobs.run_clean

    def losing(*args, **kwargs):
        result = real(*args, **kwargs)
        for counts in result.by_file.values():
            counts["clean"] -= 1  # a job that lost a row on the way
        return result

    monkeypatch.setattr("zhijing.governance.ingest.run_clean", losing)
    write(home.home / "sources" / "visitors" / "v.csv", _rows(5))
    out = ingest_city(home, progress=False, datasets=["visitors"])["datasets"][0]
    assert out["status"] == "failed" and "rows in 5 ≠ clean 4" in out["error"], out
    from zhijing.lake.store import current_manifest

    assert current_manifest(home, "clean", "visitors") is None


def test_sources_add_asks_before_saving(home, cli, tmp_path):
    path = write(tmp_path / "hotel.csv", _rows(10))
    r = cli("sources", "add", str(path), "--name", "hotel", input="n\n")
    assert r.exit_code == 0 and "not saved" in r.output and not (home.home / "sources" / "hotel.yaml").exists()  # declining is a choice, not a failure (issue 18)
    r = cli("sources", "add", str(path), "--name", "hotel", input="y\n")
    assert r.exit_code == 0 and (home.home / "sources" / "hotel" / "hotel.csv").read_bytes() == path.read_bytes()
    assert load_spec(home).dataset("hotel").persons[0].citizen_id == "公民身份号码"
    r = cli("sources", "add", str(path), "--name", "hotel", "--yes")
    assert isinstance(r.exception, ZhijingError) and "already declared" in str(r.exception)


def test_the_generated_city_declares_every_file_it_writes(small_city, tmp_path):
    from zhijing.governance.ingest import undeclared_files

    assert undeclared_files(Settings(home=tmp_path / "h"), small_city / "sources") == []
