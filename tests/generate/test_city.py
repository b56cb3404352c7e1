"""The generated city: every source written, every truth ID valid, faults at their rates,
structures of the documented shape, deterministic output, clear refusals."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

import pandas as pd
import pytest

from zhijing.errors import ZhijingError
from zhijing.sources.generate.city import generate_city
from zhijing.sources.generate.faults import RATES
from zhijing.sources.spec import load_spec
from zhijing.standards import citizen_id, uscc


@pytest.fixture(scope="module")
def truth(small_city):
    return small_city / "truth"


def test_every_source_of_the_registry_is_written(small_city):
    spec = load_spec()
    for ds in spec.datasets:
        found = list((small_city / "sources").glob(ds.path))
        assert found, f"{ds.name}: nothing at {ds.path}"
    for ref in spec.reference:
        assert (small_city / "sources" / ref.path).exists(), ref.name
    with sqlite3.connect(small_city / "sources" / "police.db") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"t_hjrk", "t_ajxx", "t_ajry"} <= tables


def test_csv_sources_are_in_their_declared_encoding(small_city):
    for ds in load_spec().datasets:
        if ds.format != "csv":
            continue
        path = sorted((small_city / "sources").glob(ds.path))[0]
        header = path.read_bytes().split(b"\n", 1)[0]
        assert header.decode(ds.encoding).split(",") == ds.field_names, ds.name
        if ds.encoding == "gbk" and any(ord(c) > 127 for c in ",".join(ds.field_names)):
            with pytest.raises(UnicodeDecodeError):
                header.decode("utf-8")


def test_every_truth_identifier_validates(truth):
    persons = pd.read_parquet(truth / "persons.parquet")
    assert persons.citizen_id.is_unique
    assert all(citizen_id.normalize(x).ok for x in persons.citizen_id)
    facts = [citizen_id.facts(x) for x in persons.citizen_id.head(2000)]
    assert [f.sex for f in facts] == persons.sex.head(2000).tolist()
    companies = pd.read_parquet(truth / "companies.parquet")
    assert all(uscc.normalize(x).ok for x in companies.uscc)
    assert len(persons) == 10_000


def test_every_person_mention_has_its_true_person(small_city, truth):
    mentions = pd.read_parquet(truth / "record_persons.parquet")
    persons = set(pd.read_parquet(truth / "persons.parquet").person_id)
    assert set(mentions.person_id) <= persons
    roles = {(ds.name, r.role) for ds in load_spec().datasets for r in ds.persons}
    assert set(map(tuple, mentions[["dataset", "role"]].drop_duplicates().to_numpy())) == roles


def _rate(faults: pd.DataFrame, mentions: pd.DataFrame, fault: str, datasets: list[str] | None = None) -> float:
    f = faults[faults.fault == fault]
    m = mentions
    if datasets:
        f, m = f[f.dataset.isin(datasets)], m[m.dataset.isin(datasets)]
    return f.record_id.nunique() / max(1, m.record_id.nunique())


@pytest.mark.parametrize("fault", ["name_homophone", "name_similar_shape", "id_typo", "id_transposed", "missing_id"])
def test_person_field_faults_occur_at_their_documented_rate(truth, fault):
    faults = pd.read_parquet(truth / "record_faults.parquet")
    mentions = pd.read_parquet(truth / "record_persons.parquet")
    with_ids = [d.name for d in load_spec().datasets if any(r.citizen_id for r in d.persons)]
    rate = _rate(faults, mentions, fault, with_ids if fault.startswith(("id", "missing")) else None)
    expected = RATES[fault]
    # name variants exist only for names that have one; ID faults compete for rows
    low = expected * (0.35 if fault.startswith("name") else 0.6)
    assert low <= rate <= expected * 1.3, (fault, rate, expected)


def test_planted_id_faults_are_visible_in_the_sources(small_city, truth):
    """Independently of the truth table: the lodging CSV has 15-digit IDs and bad check chars."""
    faults = pd.read_parquet(truth / "record_faults.parquet")
    frames = [pd.read_csv(p, encoding="gbk", dtype=str, on_bad_lines="skip", encoding_errors="replace")
              for p in sorted((small_city / "sources" / "lodging").glob("*.csv"))]  # fmt: skip
    lodging = pd.concat(frames).drop_duplicates()
    ids = lodging["证件号码"].dropna()
    ids = ids[ids.str.fullmatch(r"[0-9X]{15,18}")]
    n15 = ids.str.len().eq(15).sum()
    bad = sum(1 for x in ids[ids.str.len() == 18] if citizen_id.normalize(x).reason == "bad_check_char")
    planted = faults[faults.dataset == "lodging"].fault.value_counts()
    assert abs(n15 - planted["id_legacy_15"]) <= 3
    assert abs(bad - planted.get("id_typo", 0) - planted.get("id_transposed", 0)) <= 3
    assert n15 / len(ids) == pytest.approx(RATES["id_legacy_15"], rel=0.5)


def test_malformed_and_duplicate_rows_are_in_the_files(small_city, truth):
    faults = pd.read_parquet(truth / "record_faults.parquet")
    path = small_city / "sources" / "incidents" / "incidents_110.jsonl"
    broken = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            json.loads(line)
        except json.JSONDecodeError:
            broken += 1
    planted = ((faults.dataset == "incident_110") & (faults.fault == "malformed_row")).sum()
    assert broken == planted
    rate = (faults.fault == "malformed_row").sum() / sum(json.loads((truth / "manifest.json").read_text())["rows"].values())
    assert 0 < rate < RATES["malformed_row"] * 2
    dup = (faults.fault == "duplicate_row").sum()
    total = sum(json.loads((truth / "manifest.json").read_text())["rows"].values())
    assert dup / total == pytest.approx(RATES["duplicate_row"], rel=0.3)


def test_planted_structures_have_their_shape(truth):
    s = truth / "structures"
    pyramid = pd.read_parquet(s / "pyramid.parquet")
    assert len(pyramid) >= 30 and pyramid.level.max() >= 3
    assert pyramid.parent_person_id.isna().sum() == 1  # one root
    fraud = json.loads((s / "fraud_ring.json").read_text())
    assert len(fraud["victims"]) >= 20 and len(fraud["mules"]) >= 5
    assert {f["mule"] for f in fraud["flows"]} <= set(fraud["mules"])
    contacts = pd.read_parquet(s / "epidemic_contacts.parquet")
    per_channel = contacts.groupby("channel").size()
    assert set(per_channel.index) >= {"train", "flight", "lodging", "bus", "workplace", "household"}
    assert per_channel["train"] == 5 * 4 and per_channel["flight"] == 5 * 3
    crime = pd.read_parquet(s / "crime_events.parquet")
    assert (crime.generation > 0).any(), "the Hawkes process must produce near-repeats"
    assert len(pd.read_parquet(s / "blackspots.parquet")) == 8


def test_fraud_flows_are_in_the_bank_records(small_city, truth):
    fraud = json.loads((truth / "structures" / "fraud_ring.json").read_text())
    tx = pd.concat(pd.read_csv(p, encoding="gbk", dtype=str, on_bad_lines="skip", encoding_errors="replace")
                   for p in (small_city / "sources" / "bank").glob("transactions_*.csv"))  # fmt: skip
    to_collection = tx[tx["收款账号"].isin(fraud["collection_accounts"])]
    to_mules = tx[tx["收款账号"].isin(fraud["mule_accounts"])]
    assert len(to_mules) >= 0.9 * len(fraud["victims"])
    assert len(to_collection) >= 0.9 * len(fraud["victims"])


def test_same_seed_same_bytes(tmp_path):
    a = generate_city(tmp_path / "a", persons=10_000, seed=3, progress=False)
    b = generate_city(tmp_path / "b", persons=10_000, seed=3, progress=False)
    assert a == b

    def digests(root):
        return {str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(root.rglob("*")) if f.is_file()}

    da, db = digests(tmp_path / "a"), digests(tmp_path / "b")
    assert da.keys() == db.keys() and any(k.endswith(".xlsx") for k in da)  # Excel too: no save-time stamps
    assert [k for k in da if da[k] != db[k]] == []


@pytest.mark.parametrize("persons", [-5, 0, 999, 10**8])
def test_impossible_sizes_are_refused_without_output(tmp_path, persons):
    with pytest.raises(ZhijingError, match="--persons"):
        generate_city(tmp_path / "x", persons=persons, progress=False)
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.glob(".x.partial-*"))


def test_cli_refusals_are_one_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    cases = [["--persons", "-1"], ["--persons", "10000", "--out", str(tmp_path / "full")], ["--bogus"]]
    for args in cases:
        r = subprocess.run([sys.executable, "-m", "zhijing", "generate", *args], capture_output=True, text=True)
        assert r.returncode != 0
        assert "Traceback" not in r.stderr
        assert len([ln for ln in r.stderr.strip().splitlines() if re.search(r"\w", ln)]) <= 6
    assert (tmp_path / "full" / "keep.txt").exists()


def test_docs_sources_is_current():
    from pathlib import Path

    from zhijing.sources.generate.docs import render

    doc = Path(__file__).parents[2] / "docs" / "city_sources.md"
    assert doc.read_text(encoding="utf-8").strip() == render().strip(), "run: python -m zhijing.sources.generate.docs > docs/city_sources.md"
