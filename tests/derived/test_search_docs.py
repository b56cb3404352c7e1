"""The search index's documents as DuckDB and Python write them (JSON for ``add_json``):
members escaped, names stripped and deduplicated, a missing time left out, the group and its
hash — and an index of them answers term queries. No city needed."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import duckdb
import tantivy

from zhijing.derived.workbench import search

ROWS = """SELECT * FROM (VALUES
  ('ds|1', ['PM2', 'PM1'], NULL, ['K"1', 'K\\2'], ['浙江省宁波市海曙区 "中山路" 1号', '电动车被盗'], [' 张伟 ', '张伟', '章伟'], ['海曙区'],
   '{"姓名": "张伟", "备注": "a\\"b"}', TIMESTAMPTZ '2025-03-01 08:00:00.25+08'),
  ('ds|2', NULL, 'vehicle:浙B12345', ['浙B12345'], [], [], [], '{}', NULL),
  ('ds|3', NULL, NULL, [], ['南向北'], [], [], '{}', NULL)
) t(uid, masters, grp, keys, texts, names, district, fields, ts)"""


def _docs() -> list[dict]:
    return [json.loads(d) for d in search._docs(duckdb.connect(), ROWS, "ds", "record")]


def test_documents_carry_every_member():
    a, b, c = _docs()
    assert a["uid"] == "ds|1" and a["dataset"] == "ds" and a["kind"] == "record"
    assert a["masters"] == ["PM2", "PM1"] and a["group"] == "person:PM2"  # the first master names the group
    assert a["keys"] == ['K"1', "K\\2"] and a["district"] == ["海曙区"]
    assert a["names"] == ["张伟", "章伟"]  # stripped, deduplicated, in order
    assert a["name_chars"].split()[:3] == ["张伟", "张", "伟"] and "zhangwei" in a["name_py"].split()
    assert a["text"].split() == [*search.segment('浙江省宁波市海曙区 "中山路" 1号'), *search.segment("电动车被盗")]
    assert json.loads(base64.b64decode(a["fields"])) == {"姓名": "张伟", "备注": 'a"b'}
    assert datetime.fromisoformat(a["ts"].replace("Z", "+00:00")) == datetime(2025, 3, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert b["group"] == "vehicle:浙B12345" and b["masters"] == [] and "ts" not in b and b["text"] == "" and b["names"] == []
    assert c["group"] == "record:ds|3" and c["text"].split() == list(search.segment("南向北"))
    assert len({a["group_h"], b["group_h"], c["group_h"]}) == 3
    assert [d["group_h"] for d in _docs()] == [a["group_h"], b["group_h"], c["group_h"]]  # the same group, the same hash


def test_an_index_of_them_answers_term_queries(tmp_path):
    index = tantivy.Index(search.schema(), path=str(tmp_path))
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    for d in search._docs(duckdb.connect(), ROWS, "ds", "record"):
        writer.add_json(d)
    writer.commit()
    index.reload()
    searcher = index.searcher()

    def uids(q: str) -> list[str]:
        res = searcher.search(search.build_query(index.schema, q), limit=10)
        return sorted(searcher.doc(a).to_dict()["uid"][0] for _, a in res.hits)

    assert uids("章伟") == ["ds|1"]  # a name field
    assert uids("电动车") == ["ds|1"]  # a segmented word
    assert uids('K"1') == ["ds|1"]  # a key, quote and all
    assert uids("浙B12345") == ["ds|2"]
    assert uids("南向北") == ["ds|3"]
    top = searcher.doc(searcher.search(search.build_query(index.schema, "章伟"), limit=1).hits[0][1]).to_dict()
    assert top["names"] == ["张伟", "章伟"] and top["masters"] == ["PM2", "PM1"] and top["ts"][0].microsecond == 250000
    assert json.loads(bytes(top["fields"][0]).decode())["备注"] == 'a"b'
