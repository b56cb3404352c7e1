"""Ingest of every format, the accounting identity, quarantine, versions, catalog."""

from __future__ import annotations

import shutil

import duckdb
from typer.testing import CliRunner

from zhijing.governance import catalog
from zhijing.governance.ingest import ingest_city
from zhijing.lake.store import current_files, current_manifest, read_duckdb
from zhijing.sources.spec import load_spec

SPEC = load_spec()


def test_every_source_lands_and_balances(ingested, city):
    settings, summary = ingested
    rows = {r["dataset"]: r for r in summary["datasets"]}
    for spec in SPEC.datasets:
        r = rows[spec.name]
        assert r["status"] == "ok", (spec.name, r["error"])
        assert r["balanced"] and r["rows_in"] == r["clean"] + r["quarantined"] + r["duplicates"]
        assert r["clean"] == 13 and r["duplicates"] == city[1]["duplicates"][spec.name]
        assert current_files(settings, "clean", spec.name) and current_files(settings, "raw", spec.name)
    for ref in SPEC.reference:
        assert rows[ref.name]["status"] == "ok"


def test_planted_malformed_rows_are_quarantined_with_reasons(ingested, city):
    settings, _ = ingested
    facts = city[1]
    with duckdb.connect() as con:
        for spec in SPEC.datasets:
            q = read_duckdb(con, settings, "quarantine", spec.name)  # noqa: F841 - DuckDB scans the local by name
            got = con.execute("SELECT _record_id, reason, raw FROM q").fetchall()
            ids = {g[0] for g in got}
            for rid in facts["malformed"][spec.name]:
                assert rid in ids, (spec.name, rid)
            assert any(g[1].startswith("missing_key") for g in got)
            unparsable = [g for g in got if g[1] in ("missing_columns", "unparsable_json")]
            assert len(unparsable) == facts["bad_lines"][spec.name]
            assert all(g[1] and g[2] for g in got)


def test_clean_rows_are_standardized(ingested):
    settings, _ = ingested
    with duckdb.connect() as con:
        rel = read_duckdb(con, settings, "clean", "lodging")  # noqa: F841 - DuckDB scans the local by name
        rows = con.execute(
            'SELECT _record_id, "证件号码", "证件号码__raw", _issues, "入住时间", month, "旅馆地址__district" FROM rel ORDER BY _source_line'
        ).fetchall()
    assert all(r[4] is not None and r[5].startswith("2024-") for r in rows)
    assert all(r[6] == "海曙区" for r in rows)
    ids = [r[1] for r in rows if r[1]]
    assert all(len(i) == 18 for i in ids)  # 15-digit upgraded
    typo = next(r for r in rows if r[0] == "TYPO01")
    assert typo[1] is None and typo[2] and typo[3] == ["证件号码:bad_check_char"]


def test_reingest_is_a_noop_and_new_version_appends(tmp_path, city, settings):
    sources = tmp_path / "sources"
    shutil.copytree(city[0], sources)
    first = ingest_city(settings, sources, progress=False, datasets=["lodging", "phone_subscriber"])
    v1 = current_manifest(settings, "clean", "lodging").version
    again = ingest_city(settings, sources, progress=False, datasets=["lodging", "phone_subscriber"])
    assert all(r["status"] == "unchanged" and r["rows_in"] == 0 for r in again["datasets"])
    assert current_manifest(settings, "clean", "lodging").version == v1
    # a new monthly file arrives: appended as a new version, exact repeats of old rows are duplicates
    old = sources / "lodging" / "lodging_2024-03.csv"
    text = old.read_bytes().decode("gbk").splitlines()
    new_row = text[1].replace("LOD00000", "LOD09999")
    (sources / "lodging" / "lodging_2024-04.csv").write_bytes("\n".join([text[0], text[2], new_row, ""]).encode("gbk"))
    third = ingest_city(settings, sources, progress=False, datasets=["lodging"])
    r = third["datasets"][0]
    assert (r["rows_in"], r["clean"], r["duplicates"]) == (2, 1, 1)
    m = current_manifest(settings, "clean", "lodging")
    assert m.previous == v1 and m.rows == first["datasets"][0]["clean"] + 1


def test_catalog_has_grade_lineage_quality_for_every_dataset(ingested):
    settings, _ = ingested
    listed = {e["name"]: e for e in catalog.list_entries(settings)}
    for spec in SPEC.datasets:
        e = catalog.get(settings, spec.name)
        assert e["grade"] == spec.grade and e["owner"] == spec.owner and e["retention_days"] == spec.retention_days
        assert e["lineage"]["job"].startswith("governance.clean@") and e["lineage"]["inputs"][0]["zone"] == "raw"
        assert 0 < e["quality"]["score"] <= 1 and e["quality"]["completeness"] > 0.5
        assert e["rows"] == 13 and e["sources"] and listed[spec.name]["quality"] is not None
        assert {f["name"] for f in e["fields"]} == set(spec.field_names)


def test_field_grades(ingested):
    settings, _ = ingested
    g = catalog.field_grades(settings, "hukou_person")
    assert g["GMSFHM"] == g["LXDH"] == "sensitive" and g["XM"] == "internal"
    assert g["ZZ"] == "internal" and g["ZZ__district"] == "public" and g["ZZ__detail"] == "internal"
    assert catalog.field_grades(settings, "bank_account")["账号"] == "sensitive"
    assert catalog.field_grades(settings, "case_info")["JYAQ"] == "secret"
    assert set(catalog.field_grades(settings, "quarantine").values()) <= {"public", "internal", "sensitive", "secret"}


def test_cli_catalog_and_quarantine(ingested, monkeypatch):
    settings, _ = ingested
    from rich.console import Console

    from zhijing import cli
    from zhijing.config import reset_settings

    monkeypatch.setenv("ZHIJING_HOME", str(settings.home))
    monkeypatch.setattr("zhijing.governance.cli.console", Console(width=250))
    reset_settings()
    runner = CliRunner()
    out = runner.invoke(cli.app, ["catalog", "list"])
    assert out.exit_code == 0 and "lodging" in out.output
    out = runner.invoke(cli.app, ["catalog", "show", "lodging"])
    assert out.exit_code == 0 and "citizen_id" in out.output and "lineage" in out.output
    out = runner.invoke(cli.app, ["quarantine", "lodging"])
    assert out.exit_code == 0 and "record key is empty" in out.output
    reset_settings()
