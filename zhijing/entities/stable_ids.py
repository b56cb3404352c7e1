"""Master IDs that survive reruns: derived from the identifying property (a valid citizen
ID) where there is one; otherwise carried over from the previous run's master with the
largest overlap; otherwise from the cluster's smallest mention id.

The work is one SQL query over (mention_id, cluster, citizen_id) and the previous links,
so it runs in the same DuckDB connection as the rest of the job, at any scale."""

from __future__ import annotations

import duckdb
import pandas as pd


def _hid_sql(expr: str) -> str:
    return f"'PM' || upper(substr(sha1({expr}), 1, 14))"


def assign_sql(con: duckdb.DuckDBPyConnection, members: str, previous: str | None, out: str = "masters") -> None:
    """Create ``out`` (mention_id, master_id) from ``members`` (mention_id, cluster,
    citizen_id) and ``previous`` (mention_id, master_id) or None.

    A carried-over ID goes to the cluster that holds most of its mentions; other clusters
    that overlapped it get a fresh ID (a split), and an ID derived from a citizen ID is
    never given to a second cluster."""
    prev = previous or "(SELECT NULL::VARCHAR AS mention_id, NULL::VARCHAR AS master_id WHERE false)"
    con.execute(f"""
      CREATE OR REPLACE TEMP TABLE {out} AS
      WITH ids AS (
        SELECT cluster, citizen_id, count(*) AS n FROM {members} WHERE citizen_id IS NOT NULL GROUP BY ALL),
      top_id AS (
        SELECT cluster, arg_max(citizen_id, (n, citizen_id)) AS cid FROM ids GROUP BY cluster),
      base AS (
        SELECT m.cluster, min(m.mention_id) AS first_mention FROM {members} m GROUP BY m.cluster),
      derived AS (
        SELECT b.cluster, b.first_mention, {_hid_sql("'cid:' || t.cid")} AS by_id
        FROM base b LEFT JOIN top_id t USING (cluster)),
      overlap AS (
        SELECT m.cluster, p.master_id, count(*) AS n
        FROM {members} m JOIN {prev} p USING (mention_id)
        WHERE m.cluster IN (SELECT cluster FROM derived WHERE by_id IS NULL) GROUP BY ALL),
      carried AS (  -- each cluster's best previous master, then each previous master's best cluster
        SELECT cluster, master_id FROM (
          SELECT cluster, master_id, n,
                 row_number() OVER (PARTITION BY master_id ORDER BY n DESC, cluster) AS r_master
          FROM (SELECT cluster, arg_max(master_id, (n, master_id)) AS master_id, max(n) AS n FROM overlap GROUP BY cluster))
        WHERE r_master = 1 AND master_id NOT IN (SELECT by_id FROM derived WHERE by_id IS NOT NULL)),
      taken AS (SELECT master_id AS id FROM carried UNION SELECT by_id FROM derived WHERE by_id IS NOT NULL),
      final AS (  -- a fresh ID never repeats one in use (the part of a split that keeps its smallest mention)
        SELECT d.cluster, coalesce(d.by_id, c.master_id,
               CASE WHEN {_hid_sql("'mention:' || d.first_mention")} IN (SELECT id FROM taken)
                    THEN {_hid_sql("'mention:' || d.first_mention || '#split'")}
                    ELSE {_hid_sql("'mention:' || d.first_mention")} END) AS master_id
        FROM derived d LEFT JOIN carried c USING (cluster))
      SELECT m.mention_id, f.master_id FROM {members} m JOIN final f USING (cluster)""")


def assign(labels: pd.Series, citizen_ids: pd.Series, previous: pd.DataFrame | None) -> pd.Series:
    """mention_id -> master_id (the same rules on pandas objects)."""
    con = duckdb.connect()
    members = pd.DataFrame({"mention_id": labels.index.astype(str), "cluster": labels.to_numpy().astype("int64"),
                            "citizen_id": citizen_ids.reindex(labels.index).to_numpy()})  # fmt: skip
    members["citizen_id"] = members.citizen_id.astype(object).where(members.citizen_id.notna(), None)
    con.register("members_in", members)
    if previous is not None and len(previous):
        con.register("previous_in", previous[["mention_id", "master_id"]])
    assign_sql(con, "members_in", "previous_in" if previous is not None and len(previous) else None)
    out = con.sql("SELECT mention_id, master_id FROM masters").df().set_index("mention_id").master_id
    return out.reindex(labels.index.astype(str))


def changes_sql(con: duckdb.DuckDBPyConnection, previous: str, current: str) -> list[dict]:
    """Merges and splits between runs, with their evidence (up to 20 mentions that moved)."""
    rows = con.sql(f"""
      WITH both_ AS (SELECT p.mention_id, p.master_id AS old, c.master_id AS new
                     FROM {previous} p JOIN {current} c USING (mention_id))
      SELECT 'merge' AS event, new AS master_id, list(DISTINCT old ORDER BY old) AS other,
             list(mention_id ORDER BY mention_id)[1:20] AS mentions
      FROM both_ GROUP BY new HAVING count(DISTINCT old) > 1
      UNION ALL
      SELECT 'split', old, list(DISTINCT new ORDER BY new), list(mention_id ORDER BY mention_id)[1:20]
      FROM both_ GROUP BY old HAVING count(DISTINCT new) > 1
      ORDER BY 1, 2""").fetchall()
    return [{"event": e, "master_id": m, ("from" if e == "merge" else "into"): list(o), "mentions": list(ms)}
            for e, m, o, ms in rows]  # fmt: skip


def changes(previous: pd.DataFrame | None, current: pd.Series) -> list[dict]:
    """Merges and splits between runs (the same rules on pandas objects)."""
    if previous is None or not len(previous):
        return []
    con = duckdb.connect()
    con.register("prev_in", previous[["mention_id", "master_id"]])
    con.register("cur_in", pd.DataFrame({"mention_id": current.index.astype(str), "master_id": current.to_numpy()}))
    return changes_sql(con, "prev_in", "cur_in")
