"""Fuzzing the file connector: whatever encoding (UTF-8, UTF-8 with BOM, GBK, GB18030),
line endings (LF, CRLF, CR, mixed), quoting (delimiters, quotes and newlines inside fields)
and trailing delimiters a department's CSV has, every record lands — as many rows as the
file has records, each value as sent — and ingest accounts for every row."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhijing.config import Settings
from zhijing.governance.engines import make_engine
from zhijing.governance.ingest import ingest_dataset
from zhijing.sources.connectors.files import land_csv
from zhijing.sources.spec import DatasetSpec

FIELDS = ["id", "name", "note"]
ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030"]
ENDINGS = ["\n", "\r\n", "\r", "mixed"]
# characters every one of the encodings can write, and the ones that make CSV hard
ALPHABET = "abcXYZ019 ,;\"'\n\r\t王李张伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚·（）：，。０１２"
value = st.text(alphabet=ALPHABET, max_size=12).map(lambda s: s.strip(" \t"))
record = st.tuples(value, value)
files = st.fixed_dictionaries({
    "records": st.lists(record, min_size=1, max_size=25),
    "encoding": st.sampled_from(ENCODINGS),
    "ending": st.sampled_from(ENDINGS),
    "trailing": st.booleans(),
})  # fmt: skip


def render(records: list[tuple[str, str]], ending: str, trailing: bool) -> str:
    """The file's text: a header and one line per record, each value quoted when it must be."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # a field holding CR or LF is quoted
    lines = [FIELDS] + [[f"K{i}", a, b] for i, (a, b) in enumerate(records)]
    out = []
    for i, row in enumerate(lines):
        buf.seek(0)
        buf.truncate()
        w.writerow(row + ([""] if trailing else []))
        line = buf.getvalue()[:-2]
        end = ending if ending != "mixed" else ("\n", "\r\n", "\r")[i % 3]
        out.append(line + end)
    return "".join(out)


def expected(v: str) -> str | None:
    """What a value reads back as: every line break a LF (the connector normalizes endings), empty = NULL."""
    v = v.replace("\r\n", "\n").replace("\r", "\n")
    return v or None


def write(folder: Path, example: dict) -> Path:
    path = folder / "people.csv"
    path.write_bytes(render(example["records"], example["ending"], example["trailing"]).encode(example["encoding"]))
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=files)
def test_every_record_lands_as_sent(example):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write(folder, example)
        declared = None if example["encoding"].startswith("utf") else "gbk"
        landed = land_csv(path, "people.csv", "fuzz", FIELDS, declared, 1 << 20, folder / "raw.parquet")
        got = duckdb.sql(f"SELECT id, name, note, _error FROM '{folder / 'raw.parquet'}' ORDER BY _source_line").fetchall()
    assert landed.rows == len(example["records"]), (landed, got)
    assert [r[3] for r in got] == [None] * len(got)
    want = [(f"K{i}", expected(a), expected(b)) for i, (a, b) in enumerate(example["records"])]
    assert sorted(r[:3] for r in got) == sorted(want)


def _spec() -> DatasetSpec:
    spec = DatasetSpec(
        name="fuzz", title="fuzz", owner="test", format="csv", path="fuzz/*.csv", key="id", grade="一般", pi="none",
        retention_days=30, fields=[{"name": "id", "element": "record_id"}, {"name": "name", "element": "name"},
                                   {"name": "note", "element": "text"}])  # fmt: skip
    return spec


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(example=files)
def test_ingest_accounts_for_every_row(tmp_path_factory, example):
    home = tmp_path_factory.mktemp("fuzzhome")
    (home / "src" / "fuzz").mkdir(parents=True)
    write(home / "src" / "fuzz", example)
    s = Settings(home=home)
    with make_engine("duckdb", s) as eng:
        summary = ingest_dataset(s, _spec(), home / "src", eng)
    assert summary.status == "ok", summary.error
    assert summary.rows_in == len(example["records"])
    assert summary.balanced and summary.rows_in == summary.clean + summary.quarantined + summary.duplicates
    assert [f["rows_in"] for f in summary.files] == [len(example["records"])] and all(f["balanced"] for f in summary.files)
