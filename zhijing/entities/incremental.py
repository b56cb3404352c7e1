"""Linking records that arrived since the last full run, without re-running it: the new
mentions are scored against the existing ones with the trained model (Splink's
``predict_between``) and among themselves (``predict_within``), then attached to the
master of their best match above the threshold, or given a master of their own."""

from __future__ import annotations

import json
import logging

import duckdb
import pandas as pd
import pyarrow as pa

from zhijing.entities import clustering, model, resolve, stable_ids
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files, publish


def link_new(settings, threshold: float = clustering.THRESHOLD) -> dict:
    from splink import DuckDBAPI, Linker

    path = settings.state_dir / "person_model.json"
    links_files = current_files(settings, "entities", "person_links")
    if not path.exists() or not links_files:
        raise ZhijingError("no full run yet: run `zhijing resolve` first")
    frame = resolve.load_mentions(settings)
    links = duckdb.sql(f"SELECT * FROM read_parquet({links_files!r})").df()
    new = frame[~frame.mention_id.isin(set(links.mention_id))]
    if new.empty:
        return {"new_mentions": 0, "attached": 0, "new_masters": 0}
    old = frame[frame.mention_id.isin(set(links.mention_id))]
    db = DuckDBAPI()
    linker = Linker([db.register(old, table_name="old_m"), db.register(new, table_name="new_m")],
                    {**json.loads(path.read_text()), "link_type": "link_and_dedupe"}, log_level=logging.WARNING)  # fmt: skip
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
    fresh = stable_ids.assign(pd.Series(range(len(rest)), index=rest.mention_id.to_numpy()), cid, None) if len(rest) else pd.Series(dtype=str)
    run_id = "incremental-" + pd.Timestamp.now("UTC").strftime("%Y%m%dT%H%M%SZ")
    added = pd.DataFrame({"mention_id": list(attached) + list(fresh.index), "master_id": list(attached.values()) + list(fresh.values),
                          "run_id": run_id, "match_probability": 1.0})  # fmt: skip
    lineage = {"job": "person-master-incremental/1", "threshold": threshold}
    publish(settings, "entities", "person_mentions", pa.Table.from_pandas(frame, preserve_index=False), lineage, mode="replace")
    publish(settings, "entities", "person_links", pa.Table.from_pandas(pd.concat([links, added.reindex(columns=links.columns)]), preserve_index=False),
            lineage, mode="replace")  # fmt: skip
    return {"new_mentions": len(new), "attached": len(attached), "new_masters": int(fresh.nunique()) if len(fresh) else 0}
