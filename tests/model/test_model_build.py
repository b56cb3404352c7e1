"""The model zone (DESIGN §10): every mapped dataset's rows, with provenance, built incrementally;
mappings checked with file:line:field."""

from __future__ import annotations

import duckdb
import pytest

from zhijing.lake.store import current_files, current_manifest, publish
from zhijing.model import build, check, read, types
from zhijing.sources.spec import packaged_spec


def test_packaged_mappings_are_valid():
    spec = packaged_spec()
    known = {d.name: d for d in spec.datasets}
    problems = {d.name: check.mapping_problems(d, types.packaged(), known) for d in spec.datasets}
    assert {k: v for k, v in problems.items() if v} == {}
    assert sum(len(d.model) for d in spec.datasets) >= 20


def test_every_mapped_row_is_in_its_type_with_its_source_record(resolved_city):
    settings, _, _ = resolved_city
    report = build.build(settings)
    spec = packaged_spec()
    con = duckdb.connect()
    for d in spec.datasets:
        clean = current_files(settings, "clean", d.name)
        for m in d.model:
            src = read.source(settings, m.type)
            assert src is not None, m.type
            keyed = f'WHERE NULLIF(trim(CAST("{m.key}" AS VARCHAR)), \'\') IS NOT NULL' if m.key else ""  # a registration needs its key
            n_clean = con.execute(f"SELECT count(*) FROM read_parquet({clean!r}, union_by_name=true) {keyed}").fetchall()[0][0]
            n_model, n_missing = con.execute(f"""SELECT count(*), count(*) FILTER (WHERE c._record_id IS NULL)
                FROM {src} t LEFT JOIN read_parquet({clean!r}, union_by_name=true) c ON c._record_id = t.record_id
                WHERE t.dataset = '{d.name}'""").fetchall()[0]  # fmt: skip
            assert (n_model, n_missing) == (n_clean, 0), (d.name, m.type)
    assert report.rows["stay"] > 0 and report.rows["payment"] > 0
    # a hotel stay is placed at its hotel's coordinates, a trip at its departure terminal
    placed = con.execute(f"SELECT count(*) FILTER (WHERE lon IS NULL), count(*) FROM {read.source(settings, 'stay')}").fetchall()[0]
    assert placed[0] == 0 and placed[1] > 0
    trips = con.execute(f"SELECT count(*) FILTER (WHERE lon IS NULL), count(*) FROM {read.source(settings, 'trip')}").fetchall()[0]
    assert trips[0] == 0, "every departure terminal is in the terminals reference dataset"


def test_rebuild_touches_only_changed_datasets(resolved_city, tmp_path):
    import shutil

    from zhijing.config import Settings

    settings = Settings(home=tmp_path / "home")  # a copy: the session's home stays as resolved
    shutil.copytree(resolved_city[0].home, settings.home)
    build.build(settings)
    assert build.build(settings).rebuilt == []
    # a new clean version of lodging: only the stay file of lodging is rewritten
    files = current_files(settings, "clean", "lodging")
    before = current_manifest(settings, "model", "stay").version
    publish(settings, "clean", "lodging", [*files], {"job": "test"}, mode="replace")
    report = build.build(settings)
    assert report.rebuilt == ["stay/lodging"]
    assert current_manifest(settings, "model", "stay").version != before


def test_an_unknown_place_code_keeps_the_event_and_counts_it(resolved_city, tmp_path):
    settings, _, _ = resolved_city
    stays = read.files(settings, "stay")
    n = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet({stays!r}) WHERE NOT placed").fetchall()[0][0]
    assert n == 0  # the generated hotels are all in the reference dataset
    spec = packaged_spec()
    lodging = spec.dataset("lodging")
    m = lodging.model[0].model_copy(update={"place": lodging.model[0].place.model_copy(update={"code": "房号"})})
    con = duckdb.connect()
    places = build.place_tables(con, settings, spec)
    sql = build.select(settings, lodging, m, types.packaged().event("stay"), places, {d.name: d for d in spec.datasets}, "Asia/Shanghai")
    total, unplaced = con.execute(f"SELECT count(*), count(*) FILTER (WHERE NOT placed) FROM ({sql})").fetchall()[0]
    assert total > 0 and unplaced == total  # room numbers name no hotel: kept, counted as unplaced


BAD = {
    "missing column": ("{type: stay, roles: {guest: guest}, time: 没有这列, place: {kind: hotel, code: code}}", "model[0].time", "not one of the declared fields"),
    "wrong element": ("{type: stay, roles: {guest: guest}, time: code, place: {kind: hotel, code: code}}", "model[0].time", "datetime or date"),
    "unknown role": ("{type: stay, roles: {passenger: guest}, time: t, place: {kind: hotel, code: code}}", "model[0].roles.passenger", "no role"),
    "unknown type": ("{type: teleport, roles: {guest: guest}, time: t}", "model[0].type", "unknown model type"),
    "no place": ("{type: stay, roles: {guest: guest}, time: t}", "model[0].place", "needs a place"),
    "person role not declared": ("{type: stay, roles: {guest: visitor}, time: t, place: {kind: hotel, code: code}}", "model[0].roles.guest", "persons roles"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_sources_check_refuses_a_bad_mapping_with_file_line_field(tmp_path, case):
    from zhijing.sources.declarations import load_file

    mapping, where, words = BAD[case]
    folder = tmp_path / "sources"
    folder.mkdir()
    path = folder / "hostel.yaml"
    path.write_text(f"""name: hostel
title: 民宿登记
owner: 派出所
format: csv
path: hostel.csv
key: id
grade: 一般
pi: general
retention_days: 365
fields:
  - {{name: id, element: record_id}}
  - {{name: code, element: code}}
  - {{name: t, element: datetime}}
  - {{name: n, element: name}}
persons:
  - {{role: guest, name: n}}
model:
  - {mapping}
""", encoding="utf-8")
    specs, problems = load_file(path, check.declared)
    assert not specs
    text = [str(p) for p in problems]
    assert any(t.startswith("hostel.yaml:") and where in t and words in t for t in text), text
    assert any(":18:" in t or ":19:" in t for t in text), text  # the line of the mapping


def test_a_deployment_type_may_not_collide_with_a_packaged_one(tmp_path):
    from zhijing.errors import ZhijingError

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "mine.yaml").write_text("events:\n  stay: {label: x, roles: {guest: person}}\n", encoding="utf-8")
    with pytest.raises(ZhijingError, match="collides"):
        types.load_folder(tmp_path / "model")
    (tmp_path / "model" / "mine.yaml").write_text(
        "events:\n  boarding: {label: 登船, roles: {passenger: person}, place: required,"
        " companion: {match: service, label: 同船}}\n", encoding="utf-8")
    assert "boarding" in types.load_folder(tmp_path / "model").placed()


def test_reserved_words_are_refused_as_columns(tmp_path):
    from zhijing.errors import ZhijingError

    (tmp_path / "m.yaml").write_text("events:\n  hearing: {label: 听证, roles: {case: case}}\n", encoding="utf-8")
    with pytest.raises(ZhijingError, match="reserved"):
        types.load_folder(tmp_path)
