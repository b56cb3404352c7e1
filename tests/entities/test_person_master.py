"""The person master against the planted truth of a small generated city."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from zhijing.entities import clustering, evaluate, judgements, stable_ids
from zhijing.entities.features import name_keys
from zhijing.lake.store import current_files
from zhijing.serving import person_file


def _table(settings, name):
    return duckdb.sql(f"SELECT * FROM read_parquet({current_files(settings, 'entities', name)!r})").df()


@pytest.fixture(scope="module")
def world(resolved_city):
    settings, city, summary = resolved_city
    links, ments = _table(settings, "person_links"), _table(settings, "person_mentions")
    truth = evaluate.read_truth(city)
    truth["mention_id"] = truth.dataset + "|" + truth.record_id.astype(str) + "|" + truth.role
    return settings, city, links, ments, truth


def test_every_person_mention_is_linked(world):
    _, _, links, ments, truth = world
    assert set(ments.mention_id) == set(links.mention_id)
    assert len(set(truth.mention_id) - set(ments.mention_id)) < 0.01 * len(truth)  # only quarantined rows are missing


def test_accuracy_against_the_planted_truth(world):
    _, _, links, ments, truth = world
    all_scores = evaluate.score(links, truth)
    ident = evaluate.score(links, truth, evaluate.identifiable(ments))
    print("all mentions", all_scores.as_dict(), "identifiable", ident.as_dict())
    assert all_scores.precision >= 0.999
    assert ident.f1 >= 0.99, ident
    assert all_scores.f1 >= 0.985, all_scores  # name plus evidence (was 0.97 with name-only mentions apart)


def test_planted_duplicates_and_id_faults_resolve_to_their_true_person(world):
    settings, city, links, ments, truth = world
    faults = pd.read_parquet(city / "truth" / "record_faults.parquet")
    df = links.merge(truth[["mention_id", "person_id", "dataset", "record_id"]], on="mention_id")
    home = df.groupby("person_id").master_id.agg(lambda s: s.value_counts().index[0])
    df["home"] = df.person_id.map(home) == df.master_id
    for fault in ("id_typo", "id_transposed", "id_legacy_15", "name_homophone", "name_similar_shape"):
        keys = set(zip(faults[faults.fault == fault].dataset, faults[faults.fault == fault].record_id, strict=True))
        hit = df[[k in keys for k in zip(df.dataset, df.record_id, strict=True)]]
        assert len(hit) > 5, fault
        assert hit.home.mean() >= 0.95, (fault, hit.home.mean())


def test_people_with_the_same_common_name_stay_apart(world):
    settings, _, links, ments, truth = world
    persons = pd.read_parquet(world[1] / "truth" / "persons.parquet")
    common = persons.name.value_counts()
    name = common.index[0]
    assert common.iloc[0] >= 5
    df = links.merge(truth[["mention_id", "person_id"]], on="mention_id").merge(ments[["mention_id", "name"]], on="mention_id")
    same = df[df.name == name]
    impure = same.groupby("master_id").person_id.nunique()
    assert (impure == 1).all(), f"{name}: a master mixes different people"
    assert same.master_id.nunique() >= same.person_id.nunique() * 0.9


def test_an_id_typo_still_links():
    a = name_keys("王晓明", None)
    b = name_keys("王小明", None)
    assert a[0] == b[0]  # homophone: same pinyin
    assert name_keys(None, "WANG/XIAOMING")[0].replace(" ", "") == a[0].replace(" ", "")


def test_two_valid_ids_are_never_merged():
    mentions = pd.DataFrame({"mention_id": ["a", "b", "c"], "citizen_id": ["110105194912310021", None, "33021219850305123X"]})
    pairs = pd.DataFrame({"mention_id_l": ["a", "b", "a"], "mention_id_r": ["b", "c", "c"], "match_probability": [0.99, 0.95, 0.99],
                          "citizen_id_l": ["110105194912310021", None, "110105194912310021"],
                          "citizen_id_r": [None, "33021219850305123X", "33021219850305123X"]})  # fmt: skip
    out = clustering.cluster(mentions, pairs, [], [], 0.5)
    assert out.labels["a"] != out.labels["c"]
    assert out.review and out.review[0]["kind"] == "id_conflict" and "held apart" in out.review[0]["reason"]


def test_judgements_are_respected_and_reversible(settings):
    mentions = pd.DataFrame({"mention_id": ["a", "b", "c"], "citizen_id": [None, None, None]})
    pairs = pd.DataFrame({"mention_id_l": ["a"], "mention_id_r": ["b"], "match_probability": [0.99],
                          "citizen_id_l": [None], "citizen_id_r": [None]})  # fmt: skip
    j = judgements.judge(settings, "a", "b", "different", "xingzhen01")
    judgements.judge(settings, "b", "c", "same", "xingzhen01")
    must, cannot = judgements.active(settings)
    out = clustering.cluster(mentions, pairs, must, cannot, 0.5)
    assert out.labels["a"] != out.labels["b"] and out.labels["b"] == out.labels["c"]
    judgements.retract(settings, j)
    must, cannot = judgements.active(settings)
    out = clustering.cluster(mentions, pairs, must, cannot, 0.5)
    assert out.labels["a"] == out.labels["b"] == out.labels["c"]


def test_master_ids_are_stable_and_changes_recorded():
    labels = pd.Series({"a": 0, "b": 0, "c": 1, "d": 2})
    cids = pd.Series({"a": "X1", "b": None, "c": None, "d": None})
    first = stable_ids.assign(labels, cids, None)
    prev = pd.DataFrame({"mention_id": first.index, "master_id": first.values})
    again = stable_ids.assign(pd.Series({"a": 5, "b": 5, "c": 7, "d": 9}), cids, prev)
    assert (again == first).all()  # new cluster numbers, same masters
    merged = stable_ids.assign(pd.Series({"a": 0, "b": 0, "c": 0, "d": 2}), cids, prev)
    events = stable_ids.changes(prev, merged)
    assert [e["event"] for e in events] == ["merge"] and merged["c"] == first["a"]


def test_rerun_keeps_master_ids(resolved_city):
    from zhijing.entities.resolve import resolve_all

    settings = resolved_city[0]
    before = _table(settings, "person_links").set_index("mention_id").master_id
    resolve_all(settings, progress=False)
    after = _table(settings, "person_links").set_index("mention_id").master_id
    assert (before.reindex(after.index) == after).mean() >= 0.999


def test_person_file_has_provenance(world):
    settings, _, links, ments, truth = world
    top = links.master_id.value_counts().index[0]
    f = person_file.person_file(settings, top)
    assert f["records"] and f["timeline"]
    for values in f["facts"].values():
        for v in values:
            assert v["datasets"] and v["record"] and v["sources"] >= 1


def test_company_vehicle_phone_masters_link_to_the_right_persons(world):
    settings, city, links, ments, truth = world
    companies = _table(settings, "companies_master")
    vehicles = _table(settings, "vehicles_master")
    phones = _table(settings, "phones_master")
    true_companies = pd.read_parquet(city / "truth" / "companies.parquet")
    assert companies.uscc.is_unique and len(companies) >= 0.95 * len(true_companies)
    person_master = links.merge(truth[["mention_id", "person_id"]], on="mention_id").groupby("person_id").master_id.agg(
        lambda s: s.value_counts().index[0])
    rep = true_companies.set_index("uscc").legal_rep_person_id
    hits = [person_master.get(rep.get(u)) in (masters if masters is not None else []) for u, masters in
            zip(companies.uscc, companies.legal_rep_masters, strict=True) if u in rep.index]  # fmt: skip
    assert sum(hits) / len(hits) >= 0.95
    true_vehicles = pd.read_parquet(city / "truth" / "vehicles.parquet")
    assert vehicles.plate.is_unique and len(vehicles) >= 0.95 * len(true_vehicles)
    assert (vehicles.checkpoint_reads.fillna(0) > 0).mean() > 0.9
    assert phones.number.is_unique and phones.holder_masters.map(lambda m: m is not None and len(m) >= 1).mean() > 0.9
