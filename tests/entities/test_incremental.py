"""New records between full runs link to existing masters without a full rerun."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd

from zhijing.config import Settings
from zhijing.entities.incremental import link_new
from zhijing.governance.ingest import ingest_city
from zhijing.lake.store import current_files


def test_new_lodging_records_attach_to_their_masters(resolved_city, tmp_path):
    base, city, _ = resolved_city
    settings = Settings(home=tmp_path / "home")
    shutil.copytree(base.home, settings.home)
    old = sorted((city / "sources" / "lodging").glob("*.csv"))[0]
    rows = pd.read_csv(old, encoding="gbk", dtype=str, on_bad_lines="skip", encoding_errors="replace").dropna(subset=["证件号码"]).head(30)
    rows = rows[rows["证件号码"].str.len() == 18]
    originals = rows["入住单号"].tolist()
    rows["入住单号"] = ["LDNEW" + f"{i:07d}" for i in range(len(rows))]
    rows["入住时间"] = "2026-07-01 12:00:00"
    new_sources = tmp_path / "sources"
    (new_sources / "lodging").mkdir(parents=True)
    rows.to_csv(new_sources / "lodging" / "lodging_2026-07.csv", index=False, encoding="gbk")
    ingest_city(settings, new_sources, progress=False, datasets=["lodging"])
    out = link_new(settings)
    assert out["new_mentions"] == len(rows)
    assert out["attached"] >= 0.9 * len(rows)
    links = duckdb.sql(f"SELECT * FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").df()
    by_mention = links.set_index("mention_id").master_id
    old_ids = dict(zip(rows["入住单号"], originals, strict=True))
    agree = [by_mention.get(f"lodging|{new}|guest") == by_mention.get(f"lodging|{orig}|guest") for new, orig in old_ids.items()]
    assert sum(agree) >= 0.9 * len(agree)
    assert link_new(settings)["new_mentions"] == 0  # nothing new the second time
    _assert_masters_follow_links(settings)


def _assert_masters_follow_links(settings) -> None:
    """The incremental run's master persons are those a recomputation from every mention and
    link gives (it recomputes only those the new mentions touched)."""
    from zhijing.entities.resolve import build_masters_sql

    con = duckdb.connect()
    con.execute(f"CREATE TABLE m AS SELECT * FROM read_parquet({current_files(settings, 'entities', 'person_mentions')!r});"
                f"CREATE TABLE l AS SELECT * FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})")  # fmt: skip
    assert con.sql("SELECT count(*) - count(DISTINCT mention_id) FROM m").fetchall() == [(0,)]
    assert con.sql("SELECT count(*) FROM l ANTI JOIN m USING (mention_id)").fetchall() == [(0,)]
    counted = "master_id, mentions, datasets, first_seen, last_seen"  # not the modes: a tie may be broken either way
    expected = con.sql(f"SELECT {counted} FROM ({build_masters_sql(con, 'm', 'l').sql_query()}) ORDER BY master_id").fetchall()
    got = con.sql(f"SELECT {counted} FROM read_parquet({current_files(settings, 'entities', 'persons_master')!r}) ORDER BY master_id")
    assert got.fetchall() == expected


def test_records_gone_from_a_dataset_lose_their_links(resolved_city, tmp_path):
    """A new version of a dataset without some of its records: their mentions and links go,
    and the masters they were part of are recomputed."""
    from zhijing.lake.store import publish

    base, _, _ = resolved_city
    settings = Settings(home=tmp_path / "home")
    shutil.copytree(base.home, settings.home)
    files = current_files(settings, "clean", "case_person")
    kept = duckdb.sql(f"SELECT * FROM read_parquet({files!r}, union_by_name=true) ORDER BY _record_id").arrow()
    kept = kept.read_all() if hasattr(kept, "read_all") else kept
    publish(settings, "clean", "case_person", kept.slice(5), {"job": "test"}, mode="replace")
    gone = {f"case_person|{r}|" for r in kept.column("_record_id").to_pylist()[:5]}
    out = link_new(settings)
    assert out["new_mentions"] == 0 and out["gone_mentions"] >= 5 and out["datasets"] == ["case_person"]
    links = duckdb.sql(f"SELECT mention_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").fetchall()
    assert not [m for (m,) in links if m.rsplit("|", 1)[0] + "|" in gone]
    _assert_masters_follow_links(settings)


def test_new_name_only_mentions_attach_by_evidence():
    from zhijing.entities.incremental import EVIDENCE_COLUMNS, _attach_by_evidence

    rows = [
        ["hukou|1|self", "陈娟", "chen juan", "330203197503020028", None, None, "女", "19750302", "19750302", "DZ330203000001", None, None],
        ["door|9|holder", "陈娟", "chen juan", None, None, None, None, None, None, "DZ330203000001", None, None],  # new, no phone
        ["door|8|holder", "陈娟", "chen juan", None, None, None, None, None, None, "DZ330203000777", None, None],  # new, elsewhere
    ]  # fmt: skip
    con = duckdb.connect()
    frame = pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))
    con.register("frame", frame)
    con.execute("""CREATE TABLE old_m AS SELECT * FROM frame WHERE mention_id = 'hukou|1|self';
                   CREATE TABLE new_m AS SELECT * FROM frame WHERE mention_id <> 'hukou|1|self';
                   CREATE TABLE links AS SELECT 'hukou|1|self' AS mention_id, 'PMAAAA' AS master_id;
                   CREATE TABLE attached (mention_id VARCHAR, master_id VARCHAR, p DOUBLE)""")  # fmt: skip
    assert _attach_by_evidence(con) == 1
    assert con.sql("SELECT * FROM by_evidence").fetchall() == [("door|9|holder", "PMAAAA", "same community")]


def test_changed_datasets_by_recorded_versions_or_by_time():
    from zhijing.entities.incremental import changed_datasets
    from zhijing.lake.manifest import Manifest

    current = {"lodging": "20261207T120000000000Z-aaaaaa", "hukou_person": "20261201T080000000000Z-bbbbbb"}
    recorded = Manifest("entities", "person_mentions", "v", "2026-12-05T10:00:00+00:00", [],
                        lineage={"clean_versions": {"hukou_person": "20261201T080000000000Z-bbbbbb"}})  # fmt: skip
    assert changed_datasets(current, recorded) == ["lodging"]
    assert changed_datasets(current, Manifest("entities", "person_mentions", "v", "2026-12-05T10:00:00+00:00", [])) == ["lodging"]
