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


def test_new_name_only_mentions_attach_by_evidence():
    from zhijing.entities.incremental import _by_evidence

    cols = ["mention_id", "name_norm", "name_py", "citizen_id", "id_raw", "phone_any", "sex", "birth_date", "id_birth",
            "community", "address_key", "company"]  # fmt: skip
    frame = pd.DataFrame([
        ["hukou|1|self", "陈娟", "chen juan", "330203197503020028", None, None, "女", "19750302", "19750302", "DZ330203000001", None, None],
        ["door|9|holder", "陈娟", "chen juan", None, None, None, None, None, None, "DZ330203000001", None, None],  # new, no phone
        ["door|8|holder", "陈娟", "chen juan", None, None, None, None, None, None, "DZ330203000777", None, None],  # new, elsewhere
    ], columns=cols)  # fmt: skip
    master_of = pd.Series({"hukou|1|self": "PMAAAA"})
    got = _by_evidence(frame, master_of, frame.iloc[1:])
    assert got == {"door|9|holder": ("PMAAAA", "same community")}
