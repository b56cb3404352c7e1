"""The rules that decide a merge beyond the model's score: one normal form of a name, a raw
phone and a parsed address as evidence, a different name or birth date against a merge
(twins), and the second pass that joins a person's phone-only records to the ID-only ones."""

from __future__ import annotations

import duckdb
import pytest

from zhijing.entities import evidence, features, mentions, resolve
from zhijing.entities.name_form import normal_name
from zhijing.standards.address import parse

TWIN_A = "14050119730919681X"  # not checked here: features only read the text


def _mentions(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    """``person_mentions`` with features and positions, from a few hand-made mentions."""
    con = duckdb.connect()
    values = ", ".join("(" + ", ".join("NULL" if r.get(c) is None else "'" + str(r[c]) + "'" for c in mentions.COLUMNS
                                       if c != "seen_at") + ", NULL::TIMESTAMP)" for r in rows)  # fmt: skip
    con.execute(f"CREATE TABLE person_mentions AS SELECT * FROM (VALUES {values}) t({', '.join(mentions.COLUMNS)})")
    features.add_features(con)
    con.execute("""CREATE OR REPLACE TABLE person_mentions AS
                   SELECT (row_number() OVER (ORDER BY mention_id) - 1)::BIGINT AS idx, * FROM person_mentions""")
    return con


def _parsed(text: str) -> dict:
    a = parse(text)
    return {"address": text, "address_district": a.district, "address_code": a.division_code, "address_detail": a.detail}


@pytest.mark.parametrize("variant", ["热依拉•吾斯曼", "热依拉・吾斯曼", "热依拉‧吾斯曼", "热依拉．吾斯曼", "热依拉吾斯曼", "热依拉 · 吾斯曼"])
def test_dotted_names_have_one_form(variant):
    assert normal_name(variant) == normal_name("热依拉·吾斯曼")


def test_traditional_spaced_and_fullwidth_names_have_one_form():
    assert normal_name("慕容華静") == normal_name("慕 容华静") == normal_name("慕容华静") == "慕容华静"
    assert normal_name("ＺＨＡＮＧ　Ｗｅｉ") == "ZHANGWei"
    assert features.name_keys(normal_name("慕容華静"), None) == features.name_keys("慕容华静", None)


@pytest.mark.parametrize(("traditional", "simplified"), [("沈靜", "沈静"), ("衞娟", "卫娟"), ("鍾靜", "钟静"), ("餘利", "余利")])
def test_a_traditional_name_is_simplified_character_by_character(traditional, simplified):
    """The surname 沈 stays 沈 beside 靜 (OpenCC's phrase tables read 沈靜 as the word 沉静), and
    Hong Kong's 衞 is 卫."""
    assert normal_name(traditional) == normal_name(simplified) == simplified


def test_raw_phone_and_parsed_address_are_evidence():
    con = _mentions([
        {"mention_id": "a", "name": "李娜", "phone_raw": "１４０-1234-5678", **_parsed("湖南省长沙市岳麓区麓山路10号3栋201室")},
        {"mention_id": "b", "name": "李娜", "phone": "13812345678", **_parsed("长沙岳麓区麓山路10号3幢201室")},
    ])  # fmt: skip
    got = dict(con.sql("SELECT mention_id, phone_any FROM person_mentions").fetchall())
    assert got == {"a": "14012345678", "b": "13812345678"}  # the unallocated prefix kept, as digits
    keys = [r[0] for r in con.sql("SELECT address_key FROM person_mentions").fetchall()]
    assert keys[0] is not None and keys[0] == keys[1]  # 长沙 / 长沙市, no 湖南省, 幢 / 栋


def _scored(con, pairs: list[tuple[str, str, float]]) -> dict[str, int]:
    con.execute("CREATE OR REPLACE TABLE pairs (mention_id_l VARCHAR, mention_id_r VARCHAR, match_probability DOUBLE)")
    con.executemany("INSERT INTO pairs VALUES (?, ?, ?)", pairs)
    labels, _ = resolve._cluster(con, [], [], 0.2)
    ids = [r[0] for r in con.sql("SELECT mention_id FROM person_mentions ORDER BY idx").fetchall()]
    return dict(zip(ids, labels.tolist(), strict=True))


def test_twins_with_a_mistyped_id_stay_apart():
    """Same phone, same birth date, an ID one character from the sibling's: the model scores
    the pair high, but 曲鹏 and 曲洋 are different names, and names decide."""
    con = _mentions([
        {"mention_id": "a", "name": "曲洋", "citizen_id": TWIN_A, "phone": "18125541538", "birth_date": "19730919"},
        {"mention_id": "b", "name": "曲鹏", "id_raw": "14050119730919181X", "phone": "18125541538", "birth_date": "19730919"},
        {"mention_id": "c", "name": "曲朋", "id_raw": "140501197309191811", "phone": "18125541538"},  # a homophone of 曲鹏
    ])  # fmt: skip
    labels = _scored(con, [("a", "b", 0.999), ("b", "c", 0.99)])
    assert labels["a"] != labels["b"]
    assert labels["b"] == labels["c"]  # a homophone is the same name


def test_a_same_named_parent_and_child_stay_apart():
    con = _mentions([
        {"mention_id": "p", "name": "杨龙", "phone": "13317561582", "birth_date": "19700302"},
        {"mention_id": "c", "name": "杨龙", "phone": "13317561582", "birth_date": "20031006"},
        {"mention_id": "x", "name": "杨龙", "citizen_id": "371083200310065339", "phone": "13317561582"},
    ])  # fmt: skip
    labels = _scored(con, [("p", "c", 0.99), ("c", "x", 0.99), ("p", "x", 0.99)])
    assert labels["p"] != labels["c"] and labels["c"] == labels["x"]


def test_the_ids_birth_date_reads_a_written_one_and_a_swap_is_no_other_person():
    """A stated 1982-06-04 beside an ID of 1982-04-06 is the ID's date written month-first; a
    mistyped ID's date is evidence (``birth_seen``) but never holds two records apart
    (``birth_any``); two ID-less records whose dates differ by the swap are not vetoed."""
    con = _mentions([
        {"mention_id": "a", "name": "李强", "citizen_id": "430104198204060034", "birth_date": "19820604"},
        {"mention_id": "b", "name": "李强", "id_raw": "430114198204060034"},  # the division code mistyped
        {"mention_id": "c", "name": "李强", "phone": "13912340000", "birth_date": "19820604"},
        {"mention_id": "d", "name": "李强", "phone": "13912340000", "birth_date": "19820406"},
    ])  # fmt: skip
    got = {r[0]: r[1:] for r in con.sql("SELECT mention_id, birth_date, birth_any, birth_seen FROM person_mentions").fetchall()}
    assert got["a"] == ("19820406",) * 3 and got["b"] == (None, None, "19820406")
    assert got["c"] == ("19820604",) * 3  # no ID to read it by
    labels = _scored(con, [("a", "b", 0.99), ("c", "d", 0.99), ("a", "d", 0.99)])
    assert labels["a"] == labels["b"] == labels["c"] == labels["d"]


def _members(con, clusters: dict[str, int]) -> None:
    con.execute("CREATE OR REPLACE TABLE labels (mention_id VARCHAR, cluster BIGINT)")
    con.executemany("INSERT INTO labels VALUES (?, ?)", list(clusters.items()))
    con.execute("""CREATE OR REPLACE TABLE members AS
                   SELECT m.mention_id, l.cluster, m.name_norm, m.name_py, m.citizen_id, m.id_raw, m.phone_any, m.sex, m.birth_date,
                          m.id_birth, m.community, m.address_key, m.company
                   FROM person_mentions m JOIN labels l USING (mention_id)""")


def test_second_pass_joins_phone_only_records_to_the_id_only_ones():
    """A person's records with an ID never carry the phone and vice versa: only the name (in
    two spellings) and the address (in two writings) tie them, and only one identified person fits."""
    home = "湖南省长沙市岳麓区麓山路10号3栋201室"
    con = _mentions([
        {"mention_id": "id1", "name": "慕容华静", "citizen_id": "430104198204060026", **_parsed(home)},
        {"mention_id": "id2", "name": "慕容华静", "citizen_id": "430104198204060026"},
        {"mention_id": "ph1", "name": "慕容華静", "phone": "13912345678", **_parsed("长沙岳麓区麓山路10号3幢201室")},
        {"mention_id": "ph2", "name": "慕 容华静", "phone": "13912345678"},
        {"mention_id": "other", "name": "王芳", "citizen_id": "430104199001010021", **_parsed(home)},
        {"mention_id": "ph3", "name": "王芳", "phone": "13700000000", **_parsed("上海市浦东新区世纪大道1号")},
    ])  # fmt: skip
    _members(con, {"id1": 0, "id2": 0, "ph1": 1, "ph2": 1, "other": 2, "ph3": 3})
    assert evidence.attach(con, "members", out="second", second_pass=True) == 1
    assert con.sql("SELECT cluster, target, evidence FROM second").fetchall() == [(1, 0, "same address")]


def test_second_pass_leaves_an_ambiguous_or_contradicted_cluster_apart():
    home = "湖南省长沙市岳麓区麓山路10号3栋201室"
    con = _mentions([
        {"mention_id": "a", "name": "张伟", "citizen_id": "430104198204060018", **_parsed(home)},
        {"mention_id": "b", "name": "张伟", "citizen_id": "430104195501020011", **_parsed(home)},  # same name, same home
        {"mention_id": "p", "name": "张伟", "phone": "13912345678", **_parsed(home)},
        {"mention_id": "q", "name": "李强", "citizen_id": "430104198204060034", "birth_date": "19820406"},
        {"mention_id": "r", "name": "李强", "phone": "13912340000", "birth_date": "19820406", "sex": "女"},  # the ID says 男
    ])  # fmt: skip
    _members(con, {"a": 0, "b": 1, "p": 2, "q": 3, "r": 4})
    assert evidence.attach(con, "members", out="second", second_pass=True) == 0
