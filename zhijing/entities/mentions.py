"""Person mentions (人员提及): every person a clean record names, one row per role.

The source registry's ``persons`` roles say which fields carry which person elements;
this module lifts them from every clean dataset into one table in the same shape, and
repairs what clerks swap (a name field holding an ID and the ID field holding a name).

Beside the person elements, some datasets carry context that places a person: the
community a door card was issued for, the address code of a household registration, the
company an officer or legal representative belongs to. ``CONTEXT`` names those fields;
they are evidence for mentions that carry a name and nothing else (``evidence.py``).

A phone that failed the prefix table is kept as it was sent (``phone_raw``: evidence for
matching, never a valid phone), and the address as parsed (``address_code`` and
``address_detail``, so 长沙 and 长沙市, or a missing 湖南省, compare equal).
"""

from __future__ import annotations

import duckdb

from zhijing.lake.store import current_files, current_manifest
from zhijing.model import build as model_build
from zhijing.model import read
from zhijing.model import types as model_types
from zhijing.model.build import q
from zhijing.sources.spec import load_spec

COLUMNS = ("mention_id", "dataset", "record_id", "role", "name", "name_pinyin", "citizen_id", "id_raw", "sex",
           "birth_date", "phone", "phone_raw", "address", "address_district", "address_code", "address_detail",
           "community", "company", "seen_at")  # fmt: skip

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(dataset: str, role, columns: set[str], time_field: str | None) -> str:
    def col(element: str, suffix: str = "") -> str:
        field = getattr(role, element)
        name = f"{field}{suffix}" if field else None
        return f"CAST({_q(name)} AS VARCHAR)" if name and name in columns else "NULL"

    addr = role.address

    def part(name: str) -> str:  # the parsed address (standardization's cpca parse)
        return _q(f"{addr}__{name}") if addr and f"{addr}__{name}" in columns else "NULL"

    seen = f"CAST({_q(time_field)} AS TIMESTAMP)" if time_field and time_field in columns else "NULL"
    born = f"strftime(TRY_CAST({_q(role.birth_date)} AS DATE), '%Y%m%d')" if role.birth_date in columns else "NULL"
    return f"""
      SELECT '{dataset}|' || _record_id || '|{role.role}' AS mention_id, '{dataset}' AS dataset,
             _record_id AS record_id, '{role.role}' AS role,
             {col('name')} AS name, {col('name_pinyin')} AS name_pinyin,
             {col('citizen_id')} AS citizen_id, {col('citizen_id', '__raw')} AS id_raw,
             {col('sex')} AS sex, {born} AS birth_date, {col('phone')} AS phone, {col('phone', '__raw')} AS phone_raw,
             {col('address')} AS address, {part('district')} AS address_district, {part('division_code')} AS address_code,
             {part('detail')} AS address_detail, NULL::VARCHAR AS community, NULL::VARCHAR AS company,
             {seen} AS seen_at
      FROM read_parquet($files, union_by_name = true)"""


def _context(settings, con: duckdb.DuckDBPyConnection) -> str | None:
    """(mention_id, community, company) from the model: the community of a person's event at a
    community (a door card is issued per community) or of a registered address code (its first
    characters, the community place source's ``prefix``), and the company of a membership."""
    model_build.build(settings, con)
    model = model_types.load(settings)
    prefix = next((p.prefix for p in load_spec(settings).places if p.kind == "community" and p.prefix), None)
    parts = []
    for name, ev in model.events.items():
        src = read.source(settings, name)
        if src is None:
            continue
        codes = [c for c, el in ev.properties.items() if el == "place_code"] if prefix else []
        companies = [ev.affiliation] if ev.affiliation else []
        for role in ev.person_roles():
            r = f"t.{q(role)}"
            if ev.place != "none":
                parts.append(f"SELECT {r} AS mention_id, t.place_id AS community, NULL AS company FROM {src} t "
                             f"WHERE t.place_kind = 'community' AND {r} IS NOT NULL")  # fmt: skip
            parts += [f"SELECT {r}, substr(t.{q(c)}, 1, {prefix}), NULL FROM {src} t WHERE t.{q(c)} IS NOT NULL AND {r} IS NOT NULL"
                      for c in codes]  # fmt: skip
            parts += [f"SELECT {r}, NULL, t.{q(c)} FROM {src} t WHERE t.{q(c)} IS NOT NULL AND {r} IS NOT NULL" for c in companies]
    if not parts:
        return None
    return ("SELECT mention_id, CAST(any_value(community) AS VARCHAR) AS community, CAST(any_value(company) AS VARCHAR) AS company "
            f"FROM ({' UNION ALL '.join(parts)}) GROUP BY 1")


def clean_versions(settings) -> dict[str, str]:
    """The current version of every clean dataset that names persons: what ``extract``
    reads (a run records it, so the next incremental run extracts only what changed)."""
    out = {}
    for ds in load_spec(settings).datasets:
        m = current_manifest(settings, "clean", ds.name) if ds.persons else None
        if m is not None:
            out[ds.name] = m.version
    return out


def extract(settings, con: duckdb.DuckDBPyConnection, table: str = "person_mentions", datasets: list[str] | None = None) -> int:
    """Create ``table`` in ``con`` with every person mention of the clean zone (of
    ``datasets`` only, when given)."""
    parts = []
    for ds in load_spec(settings).datasets:
        files = current_files(settings, "clean", ds.name)
        if not files or not ds.persons or (datasets is not None and ds.name not in datasets):
            continue
        cols = {r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet({files!r}, union_by_name = true)").fetchall()}
        for role in ds.persons:
            parts.append(_select(ds.name, role, cols, ds.time_field).replace("$files", repr(files)))
    if not parts:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT " + ", ".join(
            f"NULL::{'TIMESTAMP' if c == 'seen_at' else 'VARCHAR'} AS {c}" for c in COLUMNS) + " WHERE false")  # fmt: skip
        return 0
    con.execute(f"CREATE OR REPLACE TABLE {table} AS " + " UNION ALL ".join(parts))
    if ctx := _context(settings, con):
        con.execute(f"""UPDATE {table} SET community = c.community, company = c.company
                        FROM ({ctx}) c WHERE c.mention_id = {table}.mention_id""")  # fmt: skip
    # a clerk's swap: the name field holds an ID-shaped value and the ID field a name
    con.execute(f"""
      UPDATE {table} SET name = id_raw, id_raw = name
      WHERE citizen_id IS NULL AND regexp_full_match(coalesce(name, ''), '[0-9]{{15}}([0-9]{{2}}[0-9Xx])?')
        AND regexp_full_match(coalesce(id_raw, ''), '[\\x{{4e00}}-\\x{{9fff}}]{{2,4}}')""")
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
