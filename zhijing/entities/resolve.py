"""The person master run (一人一档): mentions → features → Splink (EM-trained, no labels) →
constrained clustering → name-plus-evidence attachment → stable master IDs → published to
the lake's entities zone.

The same job runs on DuckDB (default) or Spark (``engine="spark"``): only the Splink
database API differs; features, clustering and everything after are shared. On DuckDB
the whole job stays in one connection with a memory limit (spilling to disk beyond it):
the mentions never become a pandas frame, Splink keeps only the columns the clustering
needs, and the masters are built in SQL.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console

from zhijing.entities import clustering, evidence, features, judgements, mentions, model, stable_ids
from zhijing.entities import masters as masters_mod
from zhijing.lake.store import current_files, publish

log = logging.getLogger(__name__)
JOB_VERSION = "person-master/2"
PAIR_COLUMNS = ["mention_id_l", "mention_id_r", "match_probability", "match_weight"]
# DuckDB's own limit for the job (it spills to disk beyond it); Python's arrays come on top
MEMORY_LIMIT = os.environ.get("ZHIJING_RESOLVE_MEMORY_LIMIT", "6GB")
# Strong evidence against a merge, whatever phone and ID say (twins share a phone and a birth
# date; a mistyped ID can sit one character from a sibling's): two names that neither sound
# alike (same pinyin) nor look alike (four-corner codes at most two digits apart: 王/玉, 赵/越,
# but not 鹏/洋); or two different birth dates (stated, or as a valid ID states them; a day
# and month swapped is the same date miswritten, not another person). Only the same valid
# citizen ID overrides it.
VETO = f"""coalesce(NOT coalesce(l.citizen_id = r.citizen_id, false) AND (
            (l.name_norm <> r.name_norm AND l.name_py <> r.name_py
             AND NOT coalesce(CASE WHEN length(l.name_shape) = length(r.name_shape)
                                   THEN hamming(l.name_shape, r.name_shape) <= 2 END, false))
            OR {features.unordered('l.birth_any')} <> {features.unordered('r.birth_any')}), false)"""


@dataclass
class Trained:
    linker: object
    db_api: object


def connect(settings=None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    config = {"memory_limit": memory_limit or MEMORY_LIMIT, "preserve_insertion_order": False}
    if settings is not None:
        tmp = settings.state_dir / "duckdb_tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(tmp)
    con = duckdb.connect(config=config)
    con.execute("SET TimeZone = 'UTC'")  # a mention's seen_at is a UTC TIMESTAMP whatever the machine's zone
    return con


def build_mentions(settings, con: duckdb.DuckDBPyConnection) -> int:
    """``person_mentions`` in ``con``: mentions with features, ordered, with a position ``idx``."""
    mentions.extract(settings, con)
    features.add_features(con)
    con.execute("""CREATE OR REPLACE TABLE person_mentions AS
                   SELECT (row_number() OVER (ORDER BY mention_id) - 1)::BIGINT AS idx, * FROM person_mentions""")
    return con.execute("SELECT count(*) FROM person_mentions").fetchall()[0][0]


def load_mentions(settings) -> pd.DataFrame:
    con = connect(settings)
    build_mentions(settings, con)
    return con.sql("SELECT * EXCLUDE (idx) FROM person_mentions ORDER BY mention_id").df()


def _db_api(engine: str, spark=None, con: duckdb.DuckDBPyConnection | None = None):
    if engine == "spark":
        from splink import SparkAPI

        from zhijing.governance.engines.spark_engine import session as spark_session

        return SparkAPI(spark_session=spark or spark_session())
    from splink import DuckDBAPI

    return DuckDBAPI(connection=con if con is not None else connect())


def _register(db_api, engine: str, frame):
    """A pandas frame (either engine) or the name of a table already in the DuckDB
    connection of ``db_api``."""
    if isinstance(frame, str):
        return db_api.register(frame)
    if engine == "spark":
        frame = db_api.spark.createDataFrame(frame.astype(object).where(frame.notna(), None))
    return db_api.register(frame, table_name="mentions")


def train(frame: pd.DataFrame | str, engine: str = "duckdb", spark=None, seed: int = 42,
          con: duckdb.DuckDBPyConnection | None = None) -> Trained:  # fmt: skip
    """Fit u by random sampling and m by expectation maximisation (no labels)."""
    from splink import Linker

    db_api = _db_api(engine, spark, con)
    linker = Linker(_register(db_api, engine, frame), model.settings(), log_level=None)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in model.TRAINING_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
    return Trained(linker, db_api)


def score_with_model(frame: pd.DataFrame, model_json: dict, engine: str = "duckdb", spark=None,
                     floor: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Score pairs of ``frame`` with an already-trained model on either engine."""
    from splink import Linker

    db_api = _db_api(engine, spark)
    linker = Linker(_register(db_api, engine, frame), model_for(engine, model_json), log_level=None)
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


def predict_into(trained: Trained, con: duckdb.DuckDBPyConnection, floor: float = 0.05, table: str = "pairs") -> int:
    """Score on DuckDB straight into ``table`` of ``con`` (mention_id_l, mention_id_r,
    match_probability), dropping Splink's intermediate tables."""
    sdf = trained.linker.inference.predict(threshold_match_probability=floor)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT mention_id_l, mention_id_r, match_probability "
                f"FROM {sdf.physical_name}")  # fmt: skip
    trained.db_api.delete_tables_created_by_splink_from_db()
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def resolve_all(settings, engine: str = "duckdb", progress: bool = True, spark=None,
                threshold: float = clustering.THRESHOLD, memory_limit: str | None = None) -> dict:  # fmt: skip
    """A full run over the clean zone; publishes person_mentions, person_links and
    persons_master; returns a summary."""
    console = Console(stderr=True, quiet=not progress)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    con = connect(settings, memory_limit)
    seconds: dict[str, float] = {}
    mark = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        seconds[stage] = round(now - mark[0], 2)
        mark[0] = now

    versions = mentions.clean_versions(settings)  # before extracting: a version published meanwhile is new to the next run
    with console.status("提取人员 extracting person mentions"):
        n = build_mentions(settings, con)
    if not n:
        return {"mentions": 0, "masters": 0, "run_id": run_id}
    lap("mentions and features")
    with console.status(f"训练模型 training the model on {n:,} mentions ({engine})"):
        if engine == "duckdb":
            trained = train("person_mentions", engine, con=con)
            lap("training")
            n_pairs = predict_into(trained, con)
        else:
            frame = con.sql("SELECT * EXCLUDE (idx) FROM person_mentions ORDER BY mention_id").df()
            trained = train(frame, engine, spark)
            lap("training")
            pairs = predict(trained)
            del frame
            con.register("pairs_in", pairs[["mention_id_l", "mention_id_r", "match_probability"]])
            con.execute("CREATE OR REPLACE TABLE pairs AS SELECT * FROM pairs_in")
            con.unregister("pairs_in")
            n_pairs = len(pairs)
            del pairs
    lap("prediction")
    with console.status("聚类 clustering"):
        must, cannot = judgements.active(settings)
        labels, review = _cluster(con, must, cannot, threshold)
        lap("clustering")
        con.register("labels_in", pa.table({"idx": np.arange(n, dtype=np.int64), "cluster": labels.astype(np.int64)}))
        con.execute("""CREATE OR REPLACE TEMP TABLE members AS
                       SELECT m.mention_id, l.cluster, m.name_norm, m.name_py, m.citizen_id, m.id_raw, m.phone_any, m.sex,
                              m.birth_date, m.id_birth, m.community, m.address_key, m.company
                       FROM person_mentions m JOIN labels_in l USING (idx)""")
        con.unregister("labels_in")
        del labels
        _judged_table(con, cannot)
        # exact names first, then the same pinyin for what is left (homophone variants)
        second = sum(_fold(con, "second_pass", True, name) for name in ("name_norm", "name_py"))
        attached = sum(_fold(con, "attachments", False, name) for name in ("name_norm", "name_py"))
        lap("second pass and evidence")
        previous = _previous_links(settings)
        if previous:
            con.execute(f"CREATE OR REPLACE TEMP TABLE previous AS SELECT mention_id, master_id FROM {previous}")
        stable_ids.assign_sql(con, "members", "previous" if previous else None)
        events = stable_ids.changes_sql(con, "previous", "masters") if previous else []
        lap("stable ids")
    con.execute(f"""
      CREATE OR REPLACE TEMP TABLE links AS
      WITH best AS (
        SELECT mention_id, max(p) AS p FROM (
          SELECT mention_id_l AS mention_id, match_probability AS p FROM pairs
          UNION ALL SELECT mention_id_r, match_probability FROM pairs) GROUP BY mention_id),
      SELECT ms.mention_id, ms.master_id, '{run_id}' AS run_id, coalesce(b.p, 1.0) AS match_probability,
             NULL::VARCHAR AS evidence
      FROM masters ms LEFT JOIN best b USING (mention_id)""")
    _mark_evidence(con)
    inputs = [r[0] for r in con.execute("SELECT DISTINCT dataset FROM person_mentions ORDER BY 1").fetchall()]
    lineage = {"job": JOB_VERSION, "engine": engine, "inputs": inputs, "threshold": threshold, "clean_versions": versions}
    publish(settings, "entities", "person_mentions", con.sql("SELECT * EXCLUDE (idx) FROM person_mentions ORDER BY mention_id"),
            lineage, mode="replace")  # fmt: skip
    publish(settings, "entities", "person_links", con.sql("SELECT * FROM links ORDER BY mention_id"), lineage, mode="replace")
    publish(settings, "entities", "persons_master", build_masters_sql(con, "person_mentions", "links"), lineage, mode="replace")
    masters_count = con.execute("SELECT count(DISTINCT master_id) FROM links").fetchall()[0][0]
    _save_model(settings, trained)
    con.close()
    lap("publish person master")
    summary_masters = masters_mod.build_all(settings, lineage)
    judgements.record_run(settings, run_id, review, events)
    lap("company, vehicle, phone masters")
    summary = {"run_id": run_id, "engine": engine, "mentions": n, "pairs_scored": n_pairs,
               "masters": int(masters_count), "held_apart": len(review), "attached_by_evidence": attached,
               "joined_by_second_pass": second,
               "merges": sum(e["event"] == "merge" for e in events), "splits": sum(e["event"] == "split" for e in events),
               **summary_masters, "seconds": seconds}  # fmt: skip
    console.print(f"一人一档: {summary['mentions']:,} mentions → {summary['masters']:,} persons "
                  f"({summary['held_apart']} held apart for review)")  # fmt: skip
    return summary


def _cluster(con: duckdb.DuckDBPyConnection, must, cannot, threshold: float) -> tuple[np.ndarray, list[dict]]:
    """Constrained clustering over positions read straight from DuckDB."""
    codes = con.sql(f"""
      SELECT CASE WHEN citizen_id IS NULL THEN -1
                  ELSE dense_rank() OVER (PARTITION BY citizen_id IS NULL ORDER BY citizen_id) END::BIGINT AS c,
             CASE WHEN b IS NULL THEN -1 ELSE dense_rank() OVER (PARTITION BY b IS NULL ORDER BY b) END::BIGINT AS b
      FROM (SELECT idx, citizen_id, {features.unordered('coalesce(substr(citizen_id, 7, 8), birth_date)')} AS b
            FROM person_mentions)
      ORDER BY idx""").fetchnumpy()  # fmt: skip
    e = con.sql(f"""SELECT l.idx AS li, r.idx AS ri, CASE WHEN {VETO} THEN 0.0 ELSE p.match_probability END AS p
                    FROM pairs p JOIN person_mentions l ON l.mention_id = p.mention_id_l
                    JOIN person_mentions r ON r.mention_id = p.mention_id_r""").fetchnumpy()  # fmt: skip

    def positions(pairs: list[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.empty((0, 2), dtype=np.int64)
        con.register("judged_in", pd.DataFrame(pairs, columns=["a", "b"]))
        got = con.sql("""SELECT ma.idx, mb.idx FROM judged_in j JOIN person_mentions ma ON ma.mention_id = j.a
                         JOIN person_mentions mb ON mb.mention_id = j.b""").fetchall()  # fmt: skip
        con.unregister("judged_in")
        return np.array(got, dtype=np.int64).reshape(-1, 2)

    def names(idx: list[int]) -> list[str]:  # mention ids of the few positions review items name
        con.register("idx_in", pa.table({"idx": pa.array(idx, pa.int64())}))
        got = dict(con.sql("SELECT idx, mention_id FROM person_mentions SEMI JOIN idx_in USING (idx)").fetchall())
        con.unregister("idx_in")
        return [got[i] for i in idx]

    return clustering.cluster_positions(names, codes["c"], np.asarray(e["li"]), np.asarray(e["ri"]), np.asarray(e["p"], float),
                                        positions(must), positions(cannot), threshold, codes["b"])  # fmt: skip


def _judged_table(con: duckdb.DuckDBPyConnection, cannot: list[tuple[str, str]]) -> None:
    con.register("judged_in", pd.DataFrame(cannot or [], columns=["mention_a", "mention_b"], dtype=object))
    con.execute("CREATE OR REPLACE TEMP TABLE judged_different AS SELECT * FROM judged_in")
    con.unregister("judged_in")


def _fold(con: duckdb.DuckDBPyConnection, out: str, second_pass: bool, name: str) -> int:
    """Fold the clusters ``evidence.attach`` finds into their targets, remembering which
    mentions moved on which fact (``moved``); the number of clusters folded."""
    n = evidence.attach(con, "members", "judged_different", out, second_pass, name)
    con.execute(f"""CREATE TEMP TABLE IF NOT EXISTS moved (mention_id VARCHAR, evidence VARCHAR);
                    INSERT INTO moved SELECT m.mention_id, a.evidence FROM members m JOIN {out} a USING (cluster);
                    UPDATE members SET cluster = a.target FROM {out} a WHERE members.cluster = a.cluster""")
    return n


def _mark_evidence(con: duckdb.DuckDBPyConnection) -> None:
    """Links of mentions folded in by the second pass or by name plus evidence say which
    fact joined them."""
    con.execute("UPDATE links SET evidence = a.evidence FROM moved a WHERE links.mention_id = a.mention_id")


def _previous_links(settings) -> str | None:
    files = current_files(settings, "entities", "person_links")
    return f"read_parquet({files!r})" if files else None


def _save_model(settings, trained: Trained) -> None:
    path = settings.state_dir / "person_model.json"
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(trained.linker.misc.save_model_to_json(), ensure_ascii=False))


def build_masters_sql(con: duckdb.DuckDBPyConnection, mentions_table: str, links_table: str) -> duckdb.DuckDBPyRelation:
    """One row per master person: the most frequent value of each element, with counts;
    sex and birth date as the master's valid citizen ID states them."""
    return con.sql(f"""
      WITH g AS (
        SELECT l.master_id, mode(m.name) AS name, mode(m.citizen_id) AS citizen_id, mode(m.phone) AS phone,
               mode(m.address_district) AS district, count(*) AS mentions, count(DISTINCT m.dataset) AS datasets,
               min(m.seen_at) AS first_seen, max(m.seen_at) AS last_seen
        FROM {mentions_table} m JOIN {links_table} l USING (mention_id) GROUP BY l.master_id)
      SELECT *, CASE WHEN citizen_id IS NOT NULL THEN
                  CASE WHEN CAST(substr(citizen_id, 17, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END END AS sex,
                strftime(TRY_STRPTIME(substr(citizen_id, 7, 8), '%Y%m%d'), '%Y-%m-%d') AS birth_date
      FROM g ORDER BY master_id""")

