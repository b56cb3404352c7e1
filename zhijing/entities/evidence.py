"""Name plus evidence: mentions that carry a name and no identifier (no citizen ID, valid
or mistyped, and no phone) cannot be scored by the model — a name alone never identifies
a person, and 张伟 with nothing else stays apart. But a name *with* a fact that places
the person can: the door card of 陈娟 issued for the community where exactly one known
陈娟 is registered; the household registration of 李强 born 1975-03-02 when exactly one
known 李强 has that birth date; the officer 王芳 of the company whose legal representative
is the known 王芳.

A cluster with no identifier is attached to an identified cluster only when

- it shares the exact name (then, for what is left, the same pinyin) **and** one of these facts with it: community (door card ↔
  household address code), registered address (parsed), birth date (stated, or from the
  ID), company (USCC) — any name of a cluster with any of its facts;
- exactly one identified cluster matches over all its facts (two candidates: ambiguous,
  stays apart);
- nothing contradicts: a stated sex or birth date differs from the one the cluster's
  citizen ID states, or both were recorded with phones and none is shared (a namesake in the
  same community with a phone of their own) → no attachment;
- no analyst judged any of its mentions "different" from the target's.

Each attachment keeps the fact it rests on (``person_links.evidence``).

The same rules, run first with ``second_pass=True``, are the **second pass** of the
resolution: a cluster with a phone (or a mistyped ID) but no valid citizen ID meets the
clusters that have one through each cluster's whole set of names, phones, birth dates and
addresses — so the phone-only records of a person join the ID-only records of the same
person when the name and one fact agree and exactly one identified person fits. Names are
compared in their normal form (``name_form``), addresses in their parsed form."""

from __future__ import annotations

import duckdb

RULES = {  # evidence kind -> SQL of the fact (beside the exact name)
    "same community": "community",
    "same address": "address_key",
    "same birth date": "coalesce(birth_date, id_birth)",
    "same company": "company",
    "same phone": "phone_any",
}
IDENTIFIED = "citizen_id IS NOT NULL OR id_raw IS NOT NULL OR phone_any IS NOT NULL"


def attach(con: duckdb.DuckDBPyConnection, members: str, cannot: str | None = None, out: str = "attachments",
           second_pass: bool = False, name: str = "name_norm") -> int:  # fmt: skip
    """Create ``out`` (cluster, target, evidence): clusters of ``members`` to fold into
    another. ``members``: the mentions table with a ``cluster`` column and the columns
    name_norm, name_py, citizen_id, id_raw, phone_any, sex, birth_date, id_birth, community,
    address_key, company. ``cannot``: a table (mention_a, mention_b) of pairs judged
    different. ``second_pass``: fold clusters with a phone or mistyped ID but no valid
    citizen ID into clusters with one (otherwise: name-only clusters into identified ones).
    ``name``: ``name_norm`` (the same name) or ``name_py`` (the same pinyin: a homophone
    variant, 汪梅庆 for 王梅庆; run after the exact names, and unique on the pinyin)."""
    # every name of a cluster with every fact of it: the whole set, not one record's pair
    facts = " UNION ALL ".join(
        f"SELECT cluster, '{kind}' AS kind, {expr} AS v FROM {members} WHERE {expr} IS NOT NULL" for kind, expr in RULES.items())
    keys = (f"SELECT f.cluster, f.kind, n.name || '|' || f.v AS k FROM (SELECT DISTINCT * FROM ({facts})) f "
            f"JOIN (SELECT DISTINCT cluster, {name} AS name FROM {members} WHERE {name} IS NOT NULL) n USING (cluster)")
    targets = "bool_or(citizen_id IS NOT NULL)" if second_pass else f"bool_or({IDENTIFIED})"
    floating = f"NOT bool_or(citizen_id IS NOT NULL) AND bool_or({IDENTIFIED})" if second_pass else f"NOT bool_or({IDENTIFIED})"
    banned = (f"""
        SELECT DISTINCT ma.cluster AS a, mb.cluster AS b FROM {cannot} j
        JOIN {members} ma ON ma.mention_id = j.mention_a JOIN {members} mb ON mb.mention_id = j.mention_b
        UNION ALL
        SELECT DISTINCT mb.cluster, ma.cluster FROM {cannot} j
        JOIN {members} ma ON ma.mention_id = j.mention_a JOIN {members} mb ON mb.mention_id = j.mention_b"""
              if cannot else "SELECT NULL AS a, NULL AS b WHERE false")  # fmt: skip
    con.execute(f"""
      CREATE OR REPLACE TEMP TABLE {out} AS
      WITH identified AS (SELECT cluster FROM {members} GROUP BY cluster HAVING {targets}),
      loose AS (SELECT cluster FROM {members} GROUP BY cluster HAVING {floating}),
      keys AS (SELECT DISTINCT * FROM ({keys})),
      floating AS (SELECT k.* FROM keys k SEMI JOIN loose l USING (cluster)),
      candidates AS (
        SELECT f.cluster, a.cluster AS target, min(f.kind) AS evidence
        FROM floating f JOIN keys a ON a.k = f.k AND a.kind = f.kind SEMI JOIN identified i ON i.cluster = a.cluster
        GROUP BY ALL),
      single AS (
        SELECT cluster, any_value(target) AS target, any_value(evidence) AS evidence FROM candidates
        GROUP BY cluster HAVING count(DISTINCT target) = 1),
      stated AS (  -- what the floating cluster states about sex and birth date
        SELECT cluster, list(DISTINCT sex) FILTER (WHERE sex IS NOT NULL) AS sexes,
               list(DISTINCT birth_date) FILTER (WHERE birth_date IS NOT NULL) AS births
        FROM {members} WHERE cluster IN (SELECT cluster FROM single) GROUP BY cluster),
      by_id AS (  -- what the target's valid citizen IDs state
        SELECT cluster,
               list(DISTINCT CASE WHEN CAST(substr(citizen_id, 17, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END) AS sexes,
               list(DISTINCT substr(citizen_id, 7, 8)) AS births
        FROM {members} WHERE citizen_id IS NOT NULL AND cluster IN (SELECT target FROM single) GROUP BY cluster),
      phones AS (  -- the phones each side was recorded with
        SELECT cluster, list(DISTINCT phone_any) AS phones FROM {members}
        WHERE phone_any IS NOT NULL AND (cluster IN (SELECT cluster FROM single) OR cluster IN (SELECT target FROM single))
        GROUP BY cluster)
      SELECT s.cluster, s.target, s.evidence FROM single s
      LEFT JOIN stated st ON st.cluster = s.cluster LEFT JOIN by_id b ON b.cluster = s.target
      LEFT JOIN phones fp ON fp.cluster = s.cluster LEFT JOIN phones tp ON tp.cluster = s.target
      WHERE (st.sexes IS NULL OR b.sexes IS NULL OR len(st.sexes) = 0 OR list_has_all(b.sexes, st.sexes))
        AND (fp.phones IS NULL OR tp.phones IS NULL OR len(list_intersect(fp.phones, tp.phones)) > 0)
        AND (st.births IS NULL OR b.births IS NULL OR len(st.births) = 0 OR list_has_all(b.births, st.births))
        AND NOT EXISTS (SELECT 1 FROM ({banned}) x WHERE x.a = s.cluster AND x.b = s.target)""")
    return con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0]
