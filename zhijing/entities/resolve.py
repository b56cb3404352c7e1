"""The person master run (一人一档): mentions → features → Splink (EM-trained, no labels) →
constrained clustering → stable master IDs → published to the lake's entities zone.

The same job runs on DuckDB (default) or Spark (``engine="spark"``): only the Splink
database API differs; features and clustering are shared.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa
from rich.console import Console

from zhijing.entities import clustering, features, judgements, mentions, model, stable_ids
from zhijing.entities import masters as masters_mod
from zhijing.lake.store import current_files, publish

log = logging.getLogger(__name__)
logging.getLogger("splink").setLevel(logging.ERROR)  # its untrained-parameter notes are expected here
JOB_VERSION = "person-master/1"
PAIR_COLUMNS = ["mention_id_l", "mention_id_r", "match_probability", "match_weight", "citizen_id_l", "citizen_id_r"]


@dataclass
class Trained:
    linker: object
    db_api: object


def load_mentions(settings) -> pd.DataFrame:
    con = duckdb.connect()
    mentions.extract(settings, con)
    features.add_features(con)
    return con.sql("SELECT * FROM person_mentions ORDER BY mention_id").df()


def _db_api(engine: str, spark=None):
    if engine == "spark":
        from splink import SparkAPI

        from zhijing.governance.engines.spark_engine import session as spark_session

        return SparkAPI(spark_session=spark or spark_session())
    from splink import DuckDBAPI

    return DuckDBAPI()


def train(frame: pd.DataFrame, engine: str = "duckdb", spark=None, seed: int = 42) -> Trained:
    """Fit u by random sampling and m by expectation maximisation (no labels)."""
    from splink import Linker

    db_api = _db_api(engine, spark)
    data = frame if engine == "duckdb" else db_api.spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
    linker = Linker(db_api.register(data, table_name="mentions"), model.settings(), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in model.TRAINING_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
    return Trained(linker, db_api)


def score_with_model(frame: pd.DataFrame, model_json: dict, engine: str = "duckdb", spark=None,
                     floor: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Score pairs of ``frame`` with an already-trained model on either engine."""
    from splink import Linker

    db_api = _db_api(engine, spark)
    data = frame if engine == "duckdb" else db_api.spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
    linker = Linker(db_api.register(data, table_name="mentions"), model_for(engine, model_json), log_level=logging.WARNING)
    return predict(Trained(linker, db_api), floor)


def model_for(engine: str, trained_json: dict) -> dict:
    """The trained parameters in the SQL dialect of ``engine``: a saved model's conditions
    are written in the dialect it was trained on, so rebuild them from the model
    definition and carry the m / u probabilities over level by level."""
    fresh = model.settings().create_settings_dict("spark" if engine == "spark" else "duckdb")
    fresh["probability_two_random_records_match"] = trained_json["probability_two_random_records_match"]
    for new_c, old_c in zip(fresh["comparisons"], trained_json["comparisons"], strict=True):
        for new_l, old_l in zip(new_c["comparison_levels"], old_c["comparison_levels"], strict=True):
            for k in ("m_probability", "u_probability"):
                if k in old_l:
                    new_l[k] = old_l[k]
    return fresh


def predict(trained: Trained, floor: float = 0.05) -> pd.DataFrame:
    df = trained.linker.inference.predict(threshold_match_probability=floor).as_pandas_dataframe()
    return df[PAIR_COLUMNS].sort_values(["mention_id_l", "mention_id_r"]).reset_index(drop=True)


def resolve_all(settings, engine: str = "duckdb", progress: bool = True, spark=None,
                threshold: float = clustering.THRESHOLD) -> dict:  # fmt: skip
    """A full run over the clean zone; publishes person_mentions, person_links and
    persons_master; returns a summary."""
    console = Console(stderr=True, quiet=not progress)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with console.status("提取人员 extracting person mentions"):
        frame = load_mentions(settings)
    if frame.empty:
        return {"mentions": 0, "masters": 0, "run_id": run_id}
    with console.status(f"训练模型 training the model on {len(frame):,} mentions ({engine})"):
        trained = train(frame, engine, spark)
        pairs = predict(trained)
    with console.status("聚类 clustering"):
        must, cannot = judgements.active(settings)
        cl = clustering.cluster(frame[["mention_id", "citizen_id"]], pairs, must, cannot, threshold)
        previous = _previous_links(settings)
        masters = stable_ids.assign(cl.labels, frame.set_index("mention_id").citizen_id, previous)
        events = stable_ids.changes(previous, masters)
    links = pd.DataFrame({"mention_id": masters.index, "master_id": masters.to_numpy(), "run_id": run_id})
    best = pairs.groupby("mention_id_l").match_probability.max()
    links["match_probability"] = links.mention_id.map(best).fillna(1.0)
    lineage = {"job": JOB_VERSION, "engine": engine, "inputs": sorted(frame.dataset.unique()), "threshold": threshold}
    publish(settings, "entities", "person_mentions", pa.Table.from_pandas(frame, preserve_index=False), lineage, mode="replace")
    publish(settings, "entities", "person_links", pa.Table.from_pandas(links, preserve_index=False), lineage, mode="replace")
    publish(settings, "entities", "persons_master", pa.Table.from_pandas(build_masters(frame, links), preserve_index=False),
            lineage, mode="replace")  # fmt: skip
    summary_masters = masters_mod.build_all(settings, lineage)
    _save_model(settings, trained)
    judgements.record_run(settings, run_id, cl.review, events)
    summary = {"run_id": run_id, "engine": engine, "mentions": len(frame), "pairs_scored": len(pairs),
               "masters": int(links.master_id.nunique()), "held_apart": len(cl.review),
               "merges": sum(e["event"] == "merge" for e in events), "splits": sum(e["event"] == "split" for e in events),
               **summary_masters}  # fmt: skip
    console.print(f"一人一档: {summary['mentions']:,} mentions → {summary['masters']:,} persons "
                  f"({summary['held_apart']} held apart for review)")  # fmt: skip
    return summary


def _previous_links(settings) -> pd.DataFrame | None:
    files = current_files(settings, "entities", "person_links")
    if not files:
        return None
    return duckdb.sql(f"SELECT mention_id, master_id FROM read_parquet({files!r})").df()


def _save_model(settings, trained: Trained) -> None:
    path = settings.state_dir / "person_model.json"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trained.linker.misc.save_model_to_json(), ensure_ascii=False))


def build_masters(frame: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per master person: the most frequent value of each element, with counts."""
    df = frame.merge(links[["mention_id", "master_id"]], on="mention_id")

    def mode(s: pd.Series):
        s = s.dropna()
        return s.value_counts().index[0] if len(s) else None

    g = df.groupby("master_id")
    out = pd.DataFrame({
        "name": g.name.agg(mode), "citizen_id": g.citizen_id.agg(mode), "phone": g.phone.agg(mode),
        "district": g.address_district.agg(mode), "mentions": g.size(), "datasets": g.dataset.nunique(),
        "first_seen": g.seen_at.min(), "last_seen": g.seen_at.max(),
    }).reset_index()  # fmt: skip
    fx = out.citizen_id.map(features.id_facts)
    out["sex"] = [f.sex if f else None for f in fx]
    out["birth_date"] = [f.birth_date.isoformat() if f else None for f in fx]
    return out
