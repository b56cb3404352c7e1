"""The graph explorer's API (issue 21): find-path from every planted mule reaches the planted
fraud ring (through their accounts, with evidence on every link); the labelled edge types for
the legend and filters; expansion capped per node, paged on ("+N more", counted by type)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from zhijing.derived.graph import edges as edge_job
from zhijing.derived.graph import service
from zhijing.lake.store import current_files

FRAUD_CASE = "case:A330200000000002"  # 冒充客服电信诈骗案, xingzhen01's


@pytest.fixture(scope="module")
def planted(resolved_city):
    """The graph built, each true person's master, the planted fraud ring."""
    settings, city, _ = resolved_city
    try:
        service.graph(settings)
    except Exception:  # noqa: BLE001 - not built in this session yet
        edge_job.run(settings, "duckdb")
    truth = pd.read_parquet(city / "truth" / "record_persons.parquet")
    truth["mention_id"] = truth.dataset + "|" + truth.record_id.astype(str) + "|" + truth.role
    links = duckdb.sql(f"SELECT mention_id, master_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").df()
    master = truth.merge(links, on="mention_id").groupby("person_id").master_id.agg(lambda s: s.value_counts().index[0])
    fraud = json.loads((city / "truth" / "structures" / "fraud_ring.json").read_text())
    return settings, master, fraud


@pytest.fixture()
def explorer(planted, make_api):
    settings, master, fraud = planted
    return settings, make_api(settings.home), master, fraud


def test_find_path_from_every_planted_mule_reaches_the_ring(explorer):
    """Mule → mule account → collection account → collector: ≤ 3 hops to the nearer of the
    ring's two collectors, for every mule; each link carries its records."""
    _, api, master, fraud = explorer
    h = api.headers("xingzhen01", FRAUD_CASE)
    collectors = [f"P:{master[p]}" for p in fraud["ring"][:2]]
    ring_accounts = {f"A:{a}" for a in fraud["collection_accounts"]}
    found = []
    for mule in fraud["mules"]:
        best = None
        for c in collectors:
            r = api.get("/api/graph/path", params={"a": f"P:{master[mule]}", "b": c}, headers=h)
            assert r.status_code == 200, r.text
            body = r.json()
            if body["found"] and (best is None or body["hops"] < best["hops"]):
                best = body
        assert best is not None, mule
        ids = [n["id"] for n in best["nodes"]]
        assert ids[0] == f"P:{master[mule]}" and ids[-1] in collectors and ring_accounts & set(ids)
        assert len(best["edges"]) == best["hops"] and all(e["evidence"] for e in best["edges"])
        found.append(best["hops"])
    print(f"find-path mule → ring: {len(found)} mules, hops {sorted(found)}")
    assert max(found) <= 3


def test_the_edge_types_are_labelled_for_the_legend(explorer):
    _, api, _, _ = explorer
    r = api.get("/api/graph/types", headers=api.headers("xingzhen01", FRAUD_CASE))
    assert r.status_code == 200, r.text
    body = r.json()
    by = {e["type"]: e for e in body["edges"]}
    assert by["co_lodging"]["label"] == "同住" and by["co_lodging"]["label_en"] and by["co_lodging"]["count"] > 0
    assert by["transfer"]["directed"] and not by["household"]["directed"]
    assert all(e["label"] and e["label_en"] for e in body["edges"]) and {n["kind"] for n in body["nodes"]} >= {"person", "account", "phone"}
    assert api.get("/api/graph/types", headers=api.headers("xingzhen01")).status_code == 403  # no purpose, no graph


def test_expansion_caps_each_node_and_pages_on(explorer):
    """From a mule's account (its victims and its forwards): at most ``limit`` neighbours,
    the seed marked cut with its total, and the next page brings the others."""
    _, api, _, fraud = explorer
    h = api.headers("xingzhen01", FRAUD_CASE)
    busiest = pd.Series([f["mule"] for f in fraud["flows"]]).value_counts().index[0]
    seed = f"A:{fraud['mule_accounts'][fraud['mules'].index(busiest)]}"
    first = api.get("/api/graph/expand", params={"subject": seed, "hops": 1, "limit": 3}, headers=h).json()
    own = next(n for n in first["nodes"] if n["id"] == seed)
    assert own["cut"] and own["edges_total"] > 3 and len(first["nodes"]) == 4
    assert sum(own["edges_by_type"].values()) == own["edges_total"] and own["edges_by_type"]["transfer"] > 0  # what "+N more" holds
    second = api.get("/api/graph/expand", params={"subject": seed, "hops": 1, "limit": 3, "offset": 3}, headers=h).json()
    assert {n["id"] for n in second["nodes"]} - {seed} and not ({n["id"] for n in first["nodes"]} & {n["id"] for n in second["nodes"]}) - {seed}
