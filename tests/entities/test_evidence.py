"""Name plus evidence: a mention with a name and no identifier joins a known person only
when a second fact points to exactly one of them, and nothing contradicts it."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from zhijing.entities import clustering, evaluate, evidence, stable_ids
from zhijing.entities.features import name_keys
from zhijing.lake.store import current_files

FEMALE_1975 = "330203197503020028"  # 17th digit even: 女
MALE_1975 = "330203197503020010"  # 17th digit odd: 男
COLS = ["mention_id", "cluster", "name_norm", "name_py", "citizen_id", "id_raw", "phone_any", "sex", "birth_date", "id_birth",
        "community", "address_key", "company"]  # fmt: skip


def _m(mid, cluster, name, cid=None, phone=None, sex=None, birth=None, community=None, address=None, company=None):
    return [mid, cluster, name, name_keys(name, None)[0], cid, None, phone, sex, birth, cid[6:14] if cid else None, community,
            address, company]  # fmt: skip


@pytest.fixture()
def attached():
    rows = [
        _m("a", 1, "陈娟", cid=FEMALE_1975, community="DZ330203000001"),
        _m("b", 2, "陈娟", community="DZ330203000001"),  # door card, no phone: same community as the one known 陈娟
        _m("c", 3, "张伟", community="DZ330203000002"),  # two known 张伟 in this community: ambiguous
        _m("d", 4, "张伟", phone="13800000001", community="DZ330203000002"),
        _m("e", 5, "张伟", phone="13800000002", community="DZ330203000002"),
        _m("f", 6, "王芳"),  # a name and nothing else
        _m("g", 7, "王芳", cid=FEMALE_1975),
        _m("h", 8, "李强", sex="男", birth="19750302"),  # stated sex contradicts the only 李强 born that day
        _m("i", 9, "李强", cid=FEMALE_1975),
        _m("j", 10, "刘洋", community="DZ330203000003"),  # judged different from k by an analyst
        _m("k", 11, "刘洋", phone="13800000003", community="DZ330203000003"),
        _m("l", 12, "王敏", company="91330200MA2AAAAA0X"),  # officer of the company the known 王敏 represents
        _m("m", 13, "王敏", cid=MALE_1975, company="91330200MA2AAAAA0X"),
        _m("n", 14, "赵磊", sex="男", birth="19750302", address="浙江省宁波市海曙区中山路1号"),
        _m("o", 15, "赵磊", cid=MALE_1975, address="浙江省宁波市海曙区中山路1号"),
    ]
    con = duckdb.connect()
    con.register("members_in", pd.DataFrame(rows, columns=COLS))
    con.execute("CREATE TABLE members AS SELECT * FROM members_in")
    con.register("judged", pd.DataFrame({"mention_a": ["j"], "mention_b": ["k"]}))
    evidence.attach(con, "members", "judged")
    return {c: (t, e) for c, t, e in con.sql("SELECT cluster, target, evidence FROM attachments").fetchall()}


def test_a_name_with_a_community_joins_the_one_known_person_there(attached):
    assert attached[2] == (1, "same community")


def test_company_and_address_with_birth_date_are_evidence(attached):
    assert attached[12] == (13, "same company")
    assert attached[14][0] == 15


def test_ambiguous_name_only_contradicted_or_judged_stay_apart(attached):
    assert 3 not in attached  # two 张伟 in the community
    assert 6 not in attached  # a name alone never identifies
    assert 8 not in attached  # stated 男, the ID says 女
    assert 10 not in attached  # an analyst said different
    assert set(attached) == {2, 12, 14}


@pytest.fixture(scope="module")
def linked(resolved_city):
    settings, city, _ = resolved_city

    def table(name):
        return duckdb.sql(f"SELECT * FROM read_parquet({current_files(settings, 'entities', name)!r})").df()

    truth = evaluate.read_truth(city)
    truth["mention_id"] = truth.dataset + "|" + truth.record_id.astype(str) + "|" + truth.role
    return table("person_links"), table("person_mentions"), truth


def test_door_cards_without_a_phone_land_in_their_persons_master(linked):
    links, ments, truth = linked
    df = links.merge(truth[["mention_id", "person_id"]], on="mention_id").merge(ments, on="mention_id")
    home = df[df.phone.notna() | df.citizen_id.notna()].groupby("person_id").master_id.agg(lambda s: s.value_counts().index[0])
    bare = df[(df.dataset == "door_access") & df.phone.isna()]
    bare = bare[bare.person_id.isin(home.index)]
    assert len(bare) > 20
    landed = (bare.master_id == bare.person_id.map(home)).mean()
    assert landed >= 0.9, landed
    marked = links.set_index("mention_id").evidence.reindex(bare.mention_id)
    assert (marked == "same community").mean() >= 0.9  # each attachment says what it rests on


def test_name_only_mentions_without_evidence_stay_apart(linked):
    links, ments, truth = linked
    bare = ments[ments.citizen_id.isna() & ments.id_raw.isna() & ments.phone.isna() & ments.community.isna()
                 & ments.address.isna() & ments.company.isna() & ments.birth_date.isna()]  # fmt: skip
    assert len(bare) > 20
    size = links.master_id.value_counts()
    assert (links.set_index("mention_id").master_id.reindex(bare.mention_id).map(size) == 1).all()


def test_cannot_link_conflicts_name_their_mentions():
    mentions = pd.DataFrame({"mention_id": ["a", "b", "c"], "citizen_id": [None, None, None]})
    pairs = pd.DataFrame({"mention_id_l": ["a", "b"], "mention_id_r": ["b", "c"], "match_probability": [0.99, 0.99]})
    out = clustering.cluster(mentions, pairs, [], [("a", "c")], 0.5)
    assert out.labels["a"] == out.labels["c"]  # joined through b, so held for review
    assert out.review == [{"kind": "cannot_link_conflict", "mentions": ["a", "c"],
                           "reason": "judged different but joined through other records"}]  # fmt: skip


def test_a_split_master_id_stays_with_the_larger_part():
    cids = pd.Series({m: None for m in "abcde"})
    first = stable_ids.assign(pd.Series({"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}), cids, None)
    prev = pd.DataFrame({"mention_id": first.index, "master_id": first.values})
    split = stable_ids.assign(pd.Series({"a": 1, "b": 2, "c": 2, "d": 2, "e": 1}), cids, prev)
    assert split["b"] == split["c"] == split["d"] == first["a"]  # the three keep the master
    assert split["a"] == split["e"] != first["a"]
    events = stable_ids.changes(prev, split)
    assert [e["event"] for e in events] == ["split"] and len(events[0]["into"]) == 2
