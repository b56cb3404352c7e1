"""Columns computed before the model runs (DESIGN §8: Chinese names need more than edit
distance): pinyin of the whole name and of the surname (homophones 张/章, 晓/小),
four-corner shape codes (similar characters 王/玉), airline pinyin names mapped to the
same form, and what a citizen ID (valid or mistyped) says: birth date, sex, division."""

from __future__ import annotations

from functools import lru_cache

import duckdb
import pandas as pd
from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=1)
def _four_corner():
    import four_corner_method as fcm

    return fcm.FourCornerMethod()


@lru_cache(maxsize=500_000)
def name_keys(name: str | None, pinyin_name: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(pinyin of the name, pinyin of the surname, pinyin of the given name, shape codes)."""
    if name:
        syll = lazy_pinyin(name, style=Style.NORMAL)
        shape = " ".join(str(_four_corner().query(c) or c) for c in name)
        return " ".join(syll), syll[0], " ".join(syll[1:]), shape
    if pinyin_name and "/" in pinyin_name:  # ZHANG/XIAOMING: syllables of the given name are unknown
        sur, giv = pinyin_name.lower().split("/", 1)
        return f"{sur} {giv}", sur, giv, None
    return None, None, None, None


def add_features(con: duckdb.DuckDBPyConnection, table: str = "person_mentions") -> None:
    """Add name_py, surname_py, given_py, name_shape, id_any, id_birth, id_sex, id_division."""
    names = con.sql(f"SELECT DISTINCT name, name_pinyin FROM {table}").df()
    keys = [name_keys(n if isinstance(n, str) else None, p if isinstance(p, str) else None)
            for n, p in zip(names.name, names.name_pinyin, strict=True)]  # fmt: skip
    lookup = pd.concat([names, pd.DataFrame(keys, columns=["name_py", "surname_py", "given_py", "name_shape"])], axis=1)
    # the pinyin form of a Chinese name has no spaces inside the given name: compare on the joined form
    lookup["name_py"] = lookup.surname_py.fillna("") + " " + lookup.given_py.fillna("").str.replace(" ", "")
    lookup.loc[lookup.surname_py.isna(), "name_py"] = None
    con.register("name_lookup", lookup)
    con.execute(f"""
      CREATE OR REPLACE TABLE {table} AS
      SELECT m.*, l.name_py, l.surname_py, l.given_py, l.name_shape,
             coalesce(m.citizen_id, CASE WHEN length(m.id_raw) = 15 THEN NULL ELSE upper(m.id_raw) END) AS id_any,
             CASE WHEN m.citizen_id IS NOT NULL THEN substr(m.citizen_id, 7, 8)
                  WHEN length(m.id_raw) = 18 THEN substr(m.id_raw, 7, 8) END AS id_birth,
             CASE WHEN m.citizen_id IS NOT NULL THEN substr(m.citizen_id, 1, 6)
                  WHEN length(m.id_raw) = 18 THEN substr(m.id_raw, 1, 6) END AS id_division
      FROM {table} m LEFT JOIN name_lookup l
        ON m.name IS NOT DISTINCT FROM l.name AND m.name_pinyin IS NOT DISTINCT FROM l.name_pinyin""")
    con.unregister("name_lookup")

