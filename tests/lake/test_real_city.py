"""Ingest of a generated city: every source lands, the accounting identity holds, every
planted malformed row is in quarantine with a readable reason, legacy IDs are upgraded,
repeats are counted as duplicates, and the catalog shows grade, lineage and quality."""

from __future__ import annotations

import duckdb
import pandas as pd

from zhijing.governance import catalog
from zhijing.lake.store import current_files
from zhijing.sources.spec import load_spec


def _q(settings, dataset: str) -> pd.DataFrame:
    files = current_files(settings, "quarantine", dataset)
    return duckdb.sql(f"SELECT * FROM read_parquet({files!r}, union_by_name=true)").df() if files else pd.DataFrame()


def test_every_dataset_lands_and_balances(resolved_city):
    settings, city, _ = resolved_city
    entries = {e["name"]: e for e in catalog.list_entries(settings)}
    for ds in load_spec().datasets:
        e = entries[ds.name]
        assert e["rows"] and e["rows"] > 0, ds.name
        full = catalog.get(settings, ds.name)
        assert full["grade"] == ds.grade and full["lineage"] and full["quality"] is not None, ds.name


def test_every_planted_malformed_row_is_quarantined_with_a_reason(resolved_city):
    settings, city, _ = resolved_city
    faults = pd.read_parquet(city / "truth" / "record_faults.parquet")
    malformed = faults[faults.fault == "malformed_row"]
    assert len(malformed) > 10
    for ds, g in malformed.groupby("dataset"):
        q = _q(settings, ds)
        assert len(q) >= len(g), ds
        assert q.reason.notna().all() and (q.reason.str.len() > 3).all()
        # garbage lines carry no key; truncated / short rows keep theirs where it survives
        known = set(q["_record_id"].dropna().astype(str)) if "_record_id" in q else set()
        keyed = [r for r in g.record_id if r in known]
        assert len(keyed) + (len(q) - len(known)) >= len(g) * 0.5, ds


def test_legacy_ids_are_upgraded_and_duplicates_counted(resolved_city):
    settings, city, _ = resolved_city
    faults = pd.read_parquet(city / "truth" / "record_faults.parquet")
    legacy = faults[(faults.fault == "id_legacy_15") & (faults.dataset == "lodging")].record_id
    clean = duckdb.sql(f"SELECT _record_id, 证件号码 FROM read_parquet({current_files(settings, 'clean', 'lodging')!r})").df()
    upgraded = clean[clean._record_id.isin(set(legacy))]["证件号码"]
    assert len(upgraded) > 5 and upgraded.str.len().eq(18).all()
    manifest_rows = __import__("json").loads((city / "truth" / "manifest.json").read_text())["rows"]
    for ds in load_spec().datasets:
        ing = [i for i in catalog.get(settings, ds.name)["ingests"] if i["status"] == "ok"]
        rows_in = sum(i["rows_in"] for i in ing)
        assert rows_in == manifest_rows[ds.name], ds.name  # every row written arrived
        assert rows_in == sum(i["clean"] + i["quarantined"] + i["duplicates"] for i in ing), ds.name
        planted = ((faults.dataset == ds.name) & (faults.fault == "duplicate_row")).sum()
        dups = sum(i["duplicates"] for i in ing)
        assert planted * 0.8 <= dups <= planted, (ds.name, planted, dups)
