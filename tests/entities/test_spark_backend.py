"""The same model on DuckDB and on Spark gives the same clusters."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from zhijing.entities import clustering, resolve


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_clusters(resolved_city):
    pytest.importorskip("pyspark")
    from zhijing.governance.engines.spark_engine import session

    settings = resolved_city[0]
    frame = resolve.load_mentions(settings)
    frame = frame[frame.dataset.isin(["hukou_person", "lodging", "flight_ticket", "case_person"])].reset_index(drop=True)
    model_json = json.loads((settings.state_dir / "person_model.json").read_text())
    out = {}
    for engine in ("duckdb", "spark"):
        pairs = resolve.score_with_model(frame, model_json, engine, session() if engine == "spark" else None)
        labels = clustering.cluster(frame[["mention_id", "citizen_id"]], pairs, [], []).labels
        out[engine] = (pairs, labels)
    d_pairs, s_pairs = out["duckdb"][0], out["spark"][0]
    assert len(d_pairs) == len(s_pairs) > 1000
    merged = d_pairs.merge(s_pairs, on=["mention_id_l", "mention_id_r"], suffixes=("_d", "_s"))
    assert len(merged) == len(d_pairs)
    # the Jaro-Winkler UDFs of the two engines differ in the last digits
    assert (merged.match_probability_d - merged.match_probability_s).abs().max() < 1e-3

    def partition(labels: pd.Series) -> set[frozenset]:
        return {frozenset(g.index) for _, g in labels.groupby(labels)}

    assert partition(out["duckdb"][1]) == partition(out["spark"][1])
