"""Linking records that arrived since the last full run, without re-running it: the new
mentions are scored against the existing ones with the trained model (Splink's
``predict_between``) and among themselves (``predict_within``), then attached to the
master of their best match above the threshold, or given a master of their own."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pyarrow as pa

from zhijing.entities import clustering, evidence, model, resolve, stable_ids
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files, publish


def link_new(settings, threshold: float = clustering.THRESHOLD) -> dict:
    from splink import DuckDBAPI, Linker

    path = settings.state_dir / "person_model.json"
    links_files = current_files(settings, "entities", "person_links")
    if not path.exists() or not links_files:
        raise ZhijingError("no full run yet: run `zhijing resolve` first")
    frame = resolve.load_mentions(settings)
    with duckdb.connect() as con:  # a connection of this job's own, never the module-level default
        links = con.execute(f"SELECT * FROM read_parquet({links_files!r})").df()
    new = frame[~frame.mention_id.isin(set(links.mention_id))]
    if new.empty:
        return {"new_mentions": 0, "attached": 0, "new_masters": 0}
    old = frame[frame.mention_id.isin(set(links.mention_id))]
    db = DuckDBAPI()
    linker = Linker([db.register(old, table_name="old_m"), db.register(new, table_name="new_m")],
                    {**json.loads(path.read_text()), "link_type": "link_and_dedupe"}, log_level=None)  # fmt: skip
    rules = model.settings().blocking_rules_to_generate_predictions
    between = linker.inference.predict_between(db.register(new, table_name="new_l"), db.register(old, table_name="old_r"),
                                                blocking_rules_to_generate_predictions=rules,
                                                threshold_match_probability=threshold).as_pandas_dataframe()  # fmt: skip
    master_of = links.set_index("mention_id").master_id
    cid = frame.set_index("mention_id").citizen_id
    attached = {}
    if len(between):
        between["new_id"] = between.mention_id_l.where(between.mention_id_l.isin(new.mention_id), between.mention_id_r)
        between["old_id"] = between.mention_id_r.where(between.new_id == between.mention_id_l, between.mention_id_l)
        ok = between[~(cid.reindex(between.new_id).notna().to_numpy() & cid.reindex(between.old_id).notna().to_numpy()
                       & (cid.reindex(between.new_id).to_numpy() != cid.reindex(between.old_id).to_numpy()))]  # fmt: skip
        best = ok.sort_values("match_probability", ascending=False).drop_duplicates("new_id")
        attached = dict(zip(best.new_id, master_of.reindex(best.old_id).to_numpy(), strict=True))
    rest = new[~new.mention_id.isin(attached)]
    by_evidence = _by_evidence(frame, master_of, rest)
    attached.update({m: master for m, (master, _) in by_evidence.items()})
    rest = rest[~rest.mention_id.isin(by_evidence)]
    fresh = stable_ids.assign(pd.Series(range(len(rest)), index=rest.mention_id.to_numpy()), cid, None) if len(rest) else pd.Series(dtype=str)
    run_id = "incremental-" + pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%SZ")
    added = pd.DataFrame({"mention_id": list(attached) + list(fresh.index), "master_id": list(attached.values()) + list(fresh.values),
                          "run_id": run_id, "match_probability": 1.0})  # fmt: skip
    added["evidence"] = added.mention_id.map(lambda m: by_evidence[m][1] if m in by_evidence else None)
    lineage = {"job": "person-master-incremental/1", "threshold": threshold}
    publish(settings, "entities", "person_mentions", pa.Table.from_pandas(frame, preserve_index=False), lineage, mode="replace")
    publish(settings, "entities", "person_links", pa.Table.from_pandas(pd.concat([links, added.reindex(columns=links.columns)]), preserve_index=False),
            lineage, mode="replace")  # fmt: skip
    return {"new_mentions": len(new), "attached": len(attached), "attached_by_evidence": len(by_evidence),
            "new_masters": int(fresh.nunique()) if len(fresh) else 0}  # fmt: skip


def _by_evidence(frame: pd.DataFrame, master_of: pd.Series, rest: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """New name-only mentions that name plus evidence places in an existing master
    (evidence.py, the same rules as the full run): mention_id -> (master_id, evidence)."""
    if rest.empty:
        return {}
    cols = ["mention_id", "name_norm", "name_py", "citizen_id", "id_raw", "phone_any", "sex", "birth_date", "id_birth", "community",
            "address_key", "company"]  # fmt: skip
    old = frame[frame.mention_id.isin(master_of.index)][cols].assign(cluster=lambda d: d.mention_id.map(master_of))
    members = pd.concat([old, rest[cols].assign(cluster="new:" + rest.mention_id)], ignore_index=True)
    con = duckdb.connect()
    con.register("members_in", members.astype(object).where(members.notna(), None))
    con.execute("CREATE TABLE members AS SELECT * FROM members_in")
    got = {}
    for name in ("name_norm", "name_py"):
        evidence.attach(con, "members", name=name)
        got.update({m: (t, e) for m, t, e in con.sql(
            "SELECT substr(cluster, 5) AS mention_id, target, evidence FROM attachments").fetchall()})  # fmt: skip
        con.execute("UPDATE members SET cluster = a.target FROM attachments a WHERE members.cluster = a.cluster")
    return got
