"""The search index follows a new dataset and a resolve by writing only what changed
(issue 19: `resolve --incremental` re-indexed all 379,099 documents of the demo because the
links had changed): after `sources add` → `ingest` → `resolve --incremental` the index
holds exactly the documents a full rebuild holds, and the update wrote only the documents
whose content differs — the new dataset's records and the masters the new links touched."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

import duckdb
import pytest
import tantivy

from zhijing.config import Settings
from zhijing.derived.workbench import index_sync, presence, search
from zhijing.entities.incremental import link_new
from zhijing.governance.ingest import ingest_city
from zhijing.lake.store import current_files, current_manifest

INDEXED = ["hukou_person", "case_info", "internet_cafe"]  # a few of the lake's datasets, and the new one
CAFE = """\
name: internet_cafe
title: 网吧上网登记
owner: 网安
format: csv
path: internet_cafe/*.csv
key: 上网记录编号
grade: 重要
pi: sensitive
retention_days: 3650
fields:
  - {name: 上网记录编号, element: record_id}
  - {name: 证件号码, element: citizen_id}
  - {name: 姓名, element: name}
  - {name: 场所编码, element: place_code}
  - {name: 场所名称, element: company_name}
  - {name: 上机时间, element: datetime, format: '%Y-%m-%d %H:%M:%S'}
persons:
  - {role: self, name: 姓名, citizen_id: 证件号码}
"""


def _declare_cafe(s: Settings, n: int = 60) -> list[tuple[str, str]]:
    """An internet-café register of ``n`` persons the lake already knows, declared in the home."""
    hukou = current_files(s, "clean", "hukou_person")
    people = duckdb.sql(f"SELECT DISTINCT GMSFHM, XM FROM read_parquet({hukou!r}) WHERE GMSFHM IS NOT NULL AND XM IS NOT NULL "
                        "ORDER BY GMSFHM").fetchall()  # fmt: skip
    people = random.Random(19).sample(people, n)
    folder = s.home / "sources" / "internet_cafe"
    folder.mkdir(parents=True)
    (s.home / "sources" / "internet_cafe.yaml").write_text(CAFE, encoding="utf-8")
    lines = ["上网记录编号,证件号码,姓名,场所编码,场所名称,上机时间"]
    lines += [f"SW{i:06d},{cid},{name},WB{i % 3:04d},星际网吧{i % 3}号店,2026-0{1 + i % 9}-1{i % 10} 2{i % 4}:05:00"
              for i, (cid, name) in enumerate(people)]  # fmt: skip
    (folder / "cafe.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return people


def _docs(s: Settings) -> Counter:
    """Every document the index holds, as comparable JSON (its stored fields)."""
    index = tantivy.Index.open(str(search.index_dir(s)))
    index.reload()
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.all_query(), limit=max(1, searcher.num_docs)).hits
    out = Counter()
    for _, addr in hits:
        d = searcher.doc(addr).to_dict()
        d["fields"] = [bytes(v).decode() for v in d["fields"]]
        out[json.dumps(d, ensure_ascii=False, sort_keys=True, default=str)] += 1
    return out


def _answers(s: Settings, queries: list[str]) -> list[list[tuple[str, list[str]]]]:
    return [[(g["group"], sorted(h["uid"] for h in g["hits"])) for g in search.query(s, q, limit=10)["groups"]] for q in queries]


@pytest.fixture(scope="module")
def cafe_home(resolved_city, tmp_path_factory):
    """A copy of the resolved small city, indexed, then given a new dataset that is ingested,
    indexed (the ingest's refresh) and linked by an incremental resolve."""
    base, _, _ = resolved_city
    s = Settings(home=tmp_path_factory.mktemp("cafe") / "home")
    shutil.copytree(base.home, s.home)
    index_sync.update(s, full=True, datasets=INDEXED)  # the session's home may hold another index (tests/derived/conftest.py)
    people = _declare_cafe(s)
    ingest_city(s, progress=False, datasets=["internet_cafe"])
    presence.build(s)
    index_sync.update(s, datasets=INDEXED)  # as `zhijing ingest` refreshes it: the café's records, no masters yet
    before = _docs(s)
    built = _presence_version(s)
    presence.build(s)  # nothing it reads changed since
    kept = _presence_version(s)
    linked = link_new(s)
    update = index_sync.update(s, datasets=INDEXED)
    presence.build(s)
    return s, people, before, linked, update, _docs(s), (built, kept, _presence_version(s))


def _presence_version(s: Settings) -> str:
    return current_manifest(s, "derived", "presence").version


def test_the_incremental_index_holds_what_a_full_rebuild_holds(cafe_home):
    s, people, _, linked, _, incremental, _ = cafe_home
    assert linked["new_mentions"] == len(people) and linked["datasets"] == ["internet_cafe"]
    queries = [people[0][1], people[1][0], "星际网吧", people[2][1]]
    answers = _answers(s, queries)
    top = search.query(s, people[0][0])["groups"][0]  # a café record is found under the person it names
    assert top["kind"] == "person" and "internet_cafe" in {h["dataset"] for h in top["hits"]}
    index_sync.update(s, full=True, datasets=INDEXED)
    assert _docs(s) == incremental
    assert _answers(s, queries) == answers


def test_the_incremental_update_writes_only_the_changed_documents(cafe_home):
    """Written = the documents whose content differs from before the resolve: the café's
    records (now with their masters) and the master persons whose mention counts grew —
    never the tens of thousands of others."""
    s, people, before, _, update, after, _ = cafe_home
    differ = after - before
    assert update["documents"] == sum(differ.values())
    links = duckdb.sql(f"SELECT count(DISTINCT master_id) FROM read_parquet({current_files(s, 'entities', 'person_links')!r}) "
                       "WHERE mention_id LIKE 'internet_cafe|%'").fetchall()[0][0]  # fmt: skip
    kinds = Counter(json.loads(d)["dataset"][0] for d in differ.elements())
    assert kinds == {"internet_cafe": len(people), "persons_master": links}, kinds
    assert update["documents"] < sum(after.values()) / 10


def test_presence_is_rebuilt_only_when_what_it_reads_changed(cafe_home):
    """The ingest's refresh and the resolve's each rebuilt the presence table (two sorted
    copies of every dated place) whatever had changed; now a refresh with the same model
    tables, links and masters keeps it, and new links rebuild it."""
    built, kept, relinked = cafe_home[-1]
    assert kept == built and relinked != built
