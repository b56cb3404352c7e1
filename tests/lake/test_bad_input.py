"""Bad input: each case is a clear one-line error or a quarantine entry, the lake keeps
its last good state, and a rerun resumes."""

from __future__ import annotations

import shutil
import socket

import duckdb
import pytest

from zhijing.errors import ZhijingError
from zhijing.governance import jobs
from zhijing.governance.ingest import ingest_city
from zhijing.lake.store import current_files, current_manifest, read_duckdb
from zhijing.sources.connectors.files import land_csv
from zhijing.sources.connectors.sql import land_table


@pytest.fixture()
def sources(tmp_path, city):
    out = tmp_path / "sources"
    shutil.copytree(city[0], out)
    return out


def _lodging(sources):
    return sources / "lodging" / "lodging_2024-03.csv"


def _one(summary):
    return summary["datasets"][0]


def test_header_mismatch_is_a_clear_error_and_lake_unchanged(settings, sources):
    ingest_city(settings, sources, progress=False, datasets=["lodging"])
    before = current_manifest(settings, "clean", "lodging").version
    path = sources / "lodging" / "lodging_2024-05.csv"
    path.write_bytes("入住单号,错误列\nX1,2\n".encode("gbk"))
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["status"] == "failed" and "does not match the catalogued schema" in r["error"] and "\n" not in r["error"]
    assert current_manifest(settings, "clean", "lodging").version == before


def test_truncated_file_quarantines_the_cut_line(settings, sources):
    path = _lodging(sources)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # cut inside the last line
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["status"] == "ok" and r["balanced"]
    assert "missing_columns" in r["reasons"]


def test_wrong_encoding_is_detected(settings, sources):
    path = _lodging(sources)
    path.write_bytes(path.read_bytes().decode("gbk").encode("utf-8"))  # catalogued gbk, sent utf-8
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["status"] == "ok" and r["clean"] == 13
    with duckdb.connect() as con:
        rel = read_duckdb(con, settings, "clean", "lodging")  # noqa: F841 - DuckDB scans the local by name
        assert con.execute('SELECT count(*) FROM rel WHERE "姓名" = \'王伟\'').fetchone()[0] >= 1


def test_binary_garbage_file_and_lines(settings, sources, tmp_path):
    path = _lodging(sources)
    good = path.read_bytes()
    lines = good.split(b"\n")
    parts = lines[3].split(b",")
    parts[0], parts[3] = b"GARB1", b"\x00\x01\xff\xfe"
    lines.insert(3, b",".join(parts))
    path.write_bytes(b"\n".join(lines))
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["balanced"] and any(k in r["reasons"] for k in ("binary_garbage", "invalid_encoding")), r
    blob = tmp_path / "blob.csv"
    blob.write_bytes(bytes(range(256)) * 100)
    with pytest.raises(ZhijingError, match="binary|encoding"):
        land_csv(blob, "blob.csv", "lodging", ["a"], "gbk", 1 << 20, tmp_path / "o.parquet")


def test_huge_line_is_quarantined_without_reading_it(settings, sources):
    path = _lodging(sources)
    with open(path, "ab") as fh:  # a 50 MB "line", streamed to disk
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b"\n")
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"], line_cap=64 << 10))
    assert r["status"] == "ok" and r["balanced"] and r["reasons"].get("line_too_long") == 1
    with duckdb.connect() as con:
        rel = read_duckdb(con, settings, "quarantine", "lodging")  # noqa: F841 - DuckDB scans the local by name
        raw_len = con.execute("SELECT max(length(raw)) FROM rel WHERE reason = 'line_too_long'").fetchone()[0]
    assert raw_len < 10_000


def test_unreachable_database(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql+psycopg://postgres:secret@127.0.0.1:{port}/none?connect_timeout=2"
    with pytest.raises(ZhijingError) as err:
        land_table(url, "t_hjrk", "x", "hukou_person", ["RKBM"], tmp_path / "o.parquet")
    assert "unreachable" in str(err.value) and "secret" not in str(err.value)


def test_failed_job_keeps_last_good_version_and_rerun_resumes(settings, sources, monkeypatch):
    ingest_city(settings, sources, progress=False, datasets=["lodging"])
    good = current_manifest(settings, "clean", "lodging")
    path = sources / "lodging" / "lodging_2024-04.csv"
    text = _lodging(sources).read_bytes().decode("gbk").splitlines()
    path.write_bytes("\n".join([text[0], text[1].replace("LOD00000", "LOD07777"), ""]).encode("gbk"))

    def boom(*a, **k):
        raise ZhijingError("engine died")

    monkeypatch.setattr("zhijing.governance.ingest.run_clean", boom)
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["status"] == "failed"
    assert current_manifest(settings, "clean", "lodging").version == good.version
    assert len(current_files(settings, "raw", "lodging")) == 2  # landed, not yet cleaned
    monkeypatch.setattr("zhijing.governance.ingest.run_clean", jobs.run_clean)
    r = _one(ingest_city(settings, sources, progress=False, datasets=["lodging"]))
    assert r["status"] == "ok" and r["rows_in"] == 1 and r["clean"] == 1
    assert current_manifest(settings, "clean", "lodging").rows == good.rows + 1
    assert len(current_files(settings, "raw", "lodging")) == 2  # re-landing replaced, not duplicated
