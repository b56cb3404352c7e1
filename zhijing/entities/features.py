"""Columns computed before the model runs (DESIGN §8: Chinese names need more than edit
distance): pinyin of the whole name and of the surname (homophones 张/章, 晓/小),
four-corner shape codes (similar characters 王/玉), airline pinyin names mapped to the
same form, and what a citizen ID (valid or mistyped) says: birth date, sex, division.

Names are compared in one normal form (``name_form``: dots, spaces, fullwidth, traditional
characters); phones as sent when the prefix table rejected them (``phone_any``); birth
dates as stated or as the valid ID states them (``birth_any``: what holds two people apart),
or as a mistyped ID's text states them (``birth_seen``: evidence only, a typo may sit in the
birth digits); a stated date that is the ID's with day and month swapped is the ID's;
addresses in their parsed form, division code plus detail with 幢 as 栋 (``address_key``)."""

from __future__ import annotations

from functools import lru_cache

import duckdb
import pandas as pd
from pypinyin import Style, lazy_pinyin

from zhijing.entities.name_form import normal_name


def phone_raw_digits(raw: str) -> str:
    """SQL: a phone the prefix table rejected, as its digits (fullwidth folded, country code
    dropped), when there are 7 to 11 of them."""
    d = f"regexp_replace(translate({raw}, '０１２３４５６７８９', '0123456789'), '[^0-9]', '', 'g')"
    return (f"CASE WHEN length({d}) BETWEEN 7 AND 11 THEN {d} WHEN length({d}) = 13 AND {d} LIKE '861%' THEN substr({d}, 3) "
            f"WHEN length({d}) = 15 AND {d} LIKE '00861%' THEN substr({d}, 5) END")  # fmt: skip


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


def id_text(raw: str) -> str:
    """SQL: a citizen ID that failed its check, as comparable text (fullwidth digits folded,
    spaces and dashes dropped, upper case)."""
    return f"upper(regexp_replace(translate({raw}, '０１２３４５６７８９Ｘｘ', '0123456789XX'), '[\\s-]', '', 'g'))"


def swapped(yyyymmdd: str) -> str:
    """SQL (either engine): the date ``yyyymmdd`` with day and month swapped."""
    return f"substr({yyyymmdd}, 1, 4) || substr({yyyymmdd}, 7, 2) || substr({yyyymmdd}, 5, 2)"


def unordered(yyyymmdd: str) -> str:
    """SQL: the year with day and month in either order (1982-04-06 and 1982-06-04 alike)."""
    return (f"substr({yyyymmdd}, 1, 4) || least(substr({yyyymmdd}, 5, 2), substr({yyyymmdd}, 7, 2)) || "
            f"greatest(substr({yyyymmdd}, 5, 2), substr({yyyymmdd}, 7, 2))")


def add_features(con: duckdb.DuckDBPyConnection, table: str = "person_mentions") -> None:
    """Add name_norm, name_py, surname_py, given_py, name_shape, id_any, id_birth, id_division,
    phone_any, address_key, birth_any (stated, or as the valid ID states it) and birth_seen
    (stated, or as the ID's text states it, valid or mistyped); a stated birth date that is
    the ID's with day and month swapped is read as the ID's."""
    names = con.sql(f"SELECT DISTINCT name, name_pinyin FROM {table}").df()
    norm = [normal_name(n) if isinstance(n, str) else None for n in names.name]
    keys = [name_keys(n, p if isinstance(p, str) else None) for n, p in zip(norm, names.name_pinyin, strict=True)]
    lookup = pd.concat([names, pd.DataFrame({"name_norm": norm}),
                        pd.DataFrame(keys, columns=["name_py", "surname_py", "given_py", "name_shape"])], axis=1)  # fmt: skip
    # the pinyin form of a Chinese name has no spaces inside the given name: compare on the joined form
    lookup["name_py"] = lookup.surname_py.fillna("") + " " + lookup.given_py.fillna("").str.replace(" ", "")
    lookup.loc[lookup.surname_py.isna(), "name_py"] = None
    con.register("name_lookup", lookup)
    ID = id_text("m.id_raw")
    con.execute(f"""
      CREATE OR REPLACE TABLE {table} AS
      SELECT m.*, l.name_norm, l.name_py, l.surname_py, l.given_py, l.name_shape,
             coalesce(m.citizen_id, CASE WHEN length({ID}) = 15 THEN NULL ELSE {ID} END) AS id_any,
             CASE WHEN m.citizen_id IS NOT NULL THEN substr(m.citizen_id, 7, 8)
                  WHEN length({ID}) = 18 THEN substr({ID}, 7, 8) END AS id_birth,
             CASE WHEN m.citizen_id IS NOT NULL THEN substr(m.citizen_id, 1, 6)
                  WHEN length({ID}) = 18 THEN substr({ID}, 1, 6) END AS id_division,
             coalesce(m.phone, {phone_raw_digits('m.phone_raw')}) AS phone_any,
             CASE WHEN m.address_code IS NOT NULL AND m.address_detail IS NOT NULL THEN m.address_code || '|' ||
                  replace(replace(regexp_replace(m.address_detail, '\\s', '', 'g'), '幢', '栋'), '号楼', '栋') END AS address_key
      FROM {table} m LEFT JOIN name_lookup l
        ON m.name IS NOT DISTINCT FROM l.name AND m.name_pinyin IS NOT DISTINCT FROM l.name_pinyin""")
    con.unregister("name_lookup")
    # the ID's own birth date is evidence about the written one: a stated date that is the
    # ID's with day and month swapped (a month-first clerk) is the ID's
    con.execute(f"""
      CREATE OR REPLACE TABLE {table} AS
      SELECT * EXCLUDE (b) REPLACE (b AS birth_date), coalesce(b, substr(citizen_id, 7, 8)) AS birth_any,
             coalesce(b, id_birth) AS birth_seen
      FROM (SELECT *, CASE WHEN birth_date = {swapped('id_birth')} THEN id_birth ELSE birth_date END AS b FROM {table})""")

