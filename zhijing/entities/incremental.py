"""Linking records that arrived since the last run, without re-running the full one.

The work follows the new records, not the lake: mentions are extracted only from the
clean datasets whose version the published mentions were not built from (the run records
the versions it read, ``clean_versions`` in the lineage); the new mentions are scored
against the existing ones with the trained model (Splink's ``predict_between``) and
attached to the master of their best match above the threshold, or by name plus evidence
(evidence.py, the same rules as the full run), or given a master of their own. The new
mentions and links are appended to the published ones, and only the master persons they
touched are recomputed. Everything runs in one DuckDB connection.
"""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow as pa

from zhijing.entities import clustering, evidence, features, mentions, model, resolve, stable_ids
from zhijing.entities import masters as masters_mod
from zhijing.errors import ZhijingError
from zhijing.lake.manifest import Manifest
from zhijing.lake.store import current_files, current_manifest, publish

JOB_VERSION = "person-master-incremental/2"
EVIDENCE_COLUMNS = ("mention_id", "name_norm", "name_py", "citizen_id", "id_raw", "phone_any", "sex", "birth_date", "id_birth",
                    "community", "address_key", "company")  # fmt: skip


def changed_datasets(current: dict[str, str], built_from: Manifest) -> list[str]:
    """Datasets whose current version the published mentions were not built from (by the
    versions the run recorded; a mentions version from before they were recorded: the
    datasets published after it)."""
    recorded = built_from.lineage.get("clean_versions")
    if recorded is not None:
        return [d for d, v in current.items() if recorded.get(d) != v]
    # a version id starts with its UTC time (lake.store.new_version_id), comparable with the manifest's
    made = built_from.created_at.replace("-", "").replace(":", "")
    return [d for d, v in current.items() if v[: len("YYYYMMDDTHHMMSS")] >= made[: len("YYYYMMDDTHHMMSS")]]


def link_new(settings, threshold: float = clustering.THRESHOLD) -> dict:
    path = settings.state_dir / "person_model.json"
    links_files = current_files(settings, "entities", "person_links")
    built_from = current_manifest(settings, "entities", "person_mentions")
    if not path.exists() or not links_files or built_from is None:
        raise ZhijingError("no full run yet: run `zhijing resolve` first")
    versions = mentions.clean_versions(settings)
    changed = changed_datasets(versions, built_from)
    if not changed:
        return {"new_mentions": 0, "attached": 0, "new_masters": 0, "datasets": []}
    con = resolve.connect(settings)
    try:
        return _link(settings, con, path, changed, threshold, {"job": JOB_VERSION, "threshold": threshold, "clean_versions": versions})
    finally:
        con.close()


def _link(settings, con: duckdb.DuckDBPyConnection, model_path, changed: list[str], threshold: float, lineage: dict) -> dict:
    con.register("changed_in", pa.table({"dataset": pa.array(changed, pa.string())}))
    con.execute(f"""CREATE TABLE links AS SELECT * FROM read_parquet({current_files(settings, 'entities', 'person_links')!r});
                    CREATE TABLE published AS SELECT * FROM read_parquet({current_files(settings, 'entities', 'person_mentions')!r});
                    CREATE TABLE old_m AS SELECT * FROM published SEMI JOIN links USING (mention_id)""")  # fmt: skip
    mentions.extract(settings, con, "fresh", datasets=changed)
    features.add_features(con, "fresh")
    con.execute("""CREATE TABLE new_m AS SELECT DISTINCT ON (mention_id) * FROM fresh ANTI JOIN links USING (mention_id) ORDER BY mention_id;
                   CREATE TABLE gone AS SELECT mention_id FROM old_m ANTI JOIN fresh USING (mention_id)
                   WHERE old_m.dataset IN (SELECT dataset FROM changed_in)""")  # fmt: skip
    n_new, n_gone = con.execute("SELECT (SELECT count(*) FROM new_m), (SELECT count(*) FROM gone)").fetchall()[0]
    if not n_new and not n_gone:
        return {"new_mentions": 0, "attached": 0, "new_masters": 0, "datasets": changed}
    attached = _attach_by_model(con, model_path, threshold, n_new)
    by_evidence = _attach_by_evidence(con)
    new_masters = _fresh_masters(con)
    run_id = "incremental-" + pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%SZ")
    cast = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t, *_ in con.execute("DESCRIBE links").fetchall())
    con.execute(f"""CREATE TABLE added AS SELECT {cast} FROM (
                      SELECT mention_id, master_id, '{run_id}' AS run_id, p AS match_probability, NULL AS evidence FROM attached
                      UNION ALL SELECT mention_id, master_id, '{run_id}', 1.0, evidence FROM by_evidence
                      UNION ALL SELECT mention_id, master_id, '{run_id}', 1.0, NULL FROM fresh_masters)""")  # fmt: skip
    _publish(settings, con, lineage, replace=n_gone > 0)
    masters = _update_persons_master(settings, con, lineage)
    inputs = pa.table({"dataset": pa.array(masters_mod.inputs(settings), pa.string())})
    con.register("master_inputs", inputs)
    if con.execute("SELECT count(*) FROM new_m WHERE phone IS NOT NULL OR dataset IN (SELECT dataset FROM master_inputs)").fetchall()[0][0]:
        masters_mod.build_all(settings, lineage)  # a new phone, owner, officer or legal representative
    return {"new_mentions": n_new, "gone_mentions": n_gone, "attached": attached + by_evidence, "attached_by_evidence": by_evidence,
            "new_masters": new_masters, "masters_updated": masters, "datasets": changed}  # fmt: skip


def _attach_by_model(con: duckdb.DuckDBPyConnection, model_path, threshold: float, n_new: int) -> int:
    """Table ``attached`` (mention_id, master_id, p): each new mention's best-scoring old
    mention's master, unless both carry valid citizen IDs that differ."""
    if not n_new:
        con.execute("CREATE TABLE attached (mention_id VARCHAR, master_id VARCHAR, p DOUBLE)")
        return 0
    from splink import DuckDBAPI, Linker

    db = DuckDBAPI(connection=con)
    linker = Linker([db.register("old_m"), db.register("new_m")],
                    {**json.loads(model_path.read_text()), "link_type": "link_and_dedupe"}, log_level=None)  # fmt: skip
    pairs = linker.inference.predict_between(db.register("new_m"), db.register("old_m"),
                                             blocking_rules_to_generate_predictions=model.settings().blocking_rules_to_generate_predictions,
                                             threshold_match_probability=threshold)  # fmt: skip
    con.execute(f"""CREATE TABLE attached AS
      WITH b AS (SELECT CASE WHEN n.mention_id IS NULL THEN p.mention_id_r ELSE p.mention_id_l END AS new_id,
                        CASE WHEN n.mention_id IS NULL THEN p.mention_id_l ELSE p.mention_id_r END AS old_id,
                        p.match_probability AS p
                 FROM {pairs.physical_name} p LEFT JOIN new_m n ON n.mention_id = p.mention_id_l)
      SELECT b.new_id AS mention_id, arg_max(l.master_id, (b.p, l.master_id)) AS master_id, max(b.p) AS p
      FROM b JOIN new_m n ON n.mention_id = b.new_id JOIN old_m o ON o.mention_id = b.old_id JOIN links l ON l.mention_id = b.old_id
      WHERE NOT coalesce(n.citizen_id <> o.citizen_id, false) GROUP BY b.new_id""")  # fmt: skip
    db.delete_tables_created_by_splink_from_db()
    return con.execute("SELECT count(*) FROM attached").fetchall()[0][0]


def _attach_by_evidence(con: duckdb.DuckDBPyConnection) -> int:
    """Table ``by_evidence`` (mention_id, master_id, evidence): new mentions the model left
    alone that name plus evidence place in an existing master."""
    cols = ", ".join(EVIDENCE_COLUMNS)
    con.execute(f"""CREATE OR REPLACE TABLE members AS
                    SELECT {cols}, l.master_id AS cluster FROM old_m JOIN links l USING (mention_id)
                    UNION ALL SELECT {cols}, 'new:' || mention_id FROM new_m WHERE mention_id NOT IN (SELECT mention_id FROM attached);
                    CREATE OR REPLACE TABLE by_evidence (mention_id VARCHAR, master_id VARCHAR, evidence VARCHAR)""")  # fmt: skip
    for name in ("name_norm", "name_py"):
        evidence.attach(con, "members", name=name)
        con.execute("""INSERT INTO by_evidence SELECT substr(cluster, 5), target, evidence FROM attachments WHERE cluster LIKE 'new:%';
                       UPDATE members SET cluster = a.target FROM attachments a WHERE members.cluster = a.cluster""")  # fmt: skip
    return con.execute("SELECT count(*) FROM by_evidence").fetchall()[0][0]


def _fresh_masters(con: duckdb.DuckDBPyConnection) -> int:
    """Table ``fresh_masters`` (mention_id, master_id): a master of its own for every new
    mention left (one per valid citizen ID: stable_ids)."""
    con.execute("""CREATE OR REPLACE TABLE rest AS SELECT mention_id, row_number() OVER (ORDER BY mention_id) AS cluster, citizen_id
                   FROM new_m WHERE mention_id NOT IN (SELECT mention_id FROM attached UNION ALL SELECT mention_id FROM by_evidence)""")  # fmt: skip
    stable_ids.assign_sql(con, "rest", None, out="fresh_masters")
    return con.execute("SELECT count(DISTINCT master_id) FROM fresh_masters").fetchall()[0][0]


def _publish(settings, con: duckdb.DuckDBPyConnection, lineage: dict, replace: bool) -> None:
    """Append the new mentions and links; rewrite both when mentions are gone (records no
    longer in their dataset's current version)."""
    cols = ", ".join(r[0] for r in con.execute("DESCRIBE published").fetchall())
    appended = f"SELECT {cols} FROM new_m WHERE mention_id NOT IN (SELECT mention_id FROM published)"
    if replace:
        publish(settings, "entities", "person_mentions", con.sql(f"SELECT {cols} FROM published ANTI JOIN gone USING (mention_id) "
                                                                 f"UNION ALL {appended} ORDER BY mention_id"), lineage, mode="replace")  # fmt: skip
        publish(settings, "entities", "person_links", con.sql("SELECT * FROM links ANTI JOIN gone USING (mention_id) UNION ALL "
                                                              "SELECT * FROM added ORDER BY mention_id"), lineage, mode="replace")  # fmt: skip
    else:
        publish(settings, "entities", "person_mentions", con.sql(f"{appended} ORDER BY mention_id"), lineage, mode="append")
        publish(settings, "entities", "person_links", con.sql("SELECT * FROM added ORDER BY mention_id"), lineage, mode="append")


def _update_persons_master(settings, con: duckdb.DuckDBPyConnection, lineage: dict) -> int:
    """Recompute the master persons the new (or gone) mentions belong to; the others are
    kept as they were. Returns how many were recomputed."""
    con.execute("""CREATE TABLE touched AS SELECT DISTINCT master_id FROM (
                     SELECT master_id FROM added UNION ALL SELECT master_id FROM links SEMI JOIN gone USING (mention_id));
                   CREATE TABLE touched_links AS SELECT * FROM (SELECT * FROM links ANTI JOIN gone USING (mention_id) UNION ALL
                     SELECT * FROM added) WHERE master_id IN (SELECT master_id FROM touched);
                   CREATE TABLE touched_mentions AS SELECT * FROM (SELECT * FROM old_m UNION ALL BY NAME SELECT * FROM new_m)
                     SEMI JOIN touched_links USING (mention_id)""")  # fmt: skip
    resolve.build_masters_sql(con, "touched_mentions", "touched_links").create("recomputed")
    kept = current_files(settings, "entities", "persons_master")
    before = f"SELECT * FROM read_parquet({kept!r}) WHERE master_id NOT IN (SELECT master_id FROM touched) UNION ALL BY NAME " if kept else ""
    publish(settings, "entities", "persons_master", con.sql(f"{before}SELECT * FROM recomputed ORDER BY master_id"), lineage, mode="replace")
    return con.execute("SELECT count(*) FROM recomputed").fetchall()[0][0]
