"""Build the serving store from the lake's current versions, then switch it in.

One DuckDB pass shapes each table; the rows are bulk-loaded into a fresh store (a new
SQLite file, or a new PostgreSQL schema) which replaces the live one only when complete,
so readers always see one whole version — the same rule as the lake's manifests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from zhijing.lake.store import current_files
from zhijing.model import build as model_build
from zhijing.model import places, read
from zhijing.model import types as model_types
from zhijing.model.build import q
from zhijing.serving import store, tables
from zhijing.sources.spec import load_spec


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Lake:
    """The current versions the build reads, registered as views in one connection."""

    def __init__(self, settings, con: duckdb.DuckDBPyConnection):
        self.settings, self.con = settings, con

    def view(self, zone: str, dataset: str, name: str | None = None) -> str | None:
        files = current_files(self.settings, zone, dataset)
        if not files:
            return None
        name = name or f"{zone}_{dataset}"
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({files!r}, union_by_name=true)")
        return name

    def columns(self, view: str) -> set[str]:
        return {r[0] for r in self.con.execute(f"DESCRIBE {view}").fetchall()}


def summary_of(settings, dataset: str) -> tuple[str, str, str] | None:
    """(type, column, element) a dataset's record summary comes from: the first summary column
    (types.yaml) filled by the first of its event mappings naming a person that has one."""
    model = model_types.load(settings)
    for m in load_spec(settings).dataset(dataset).model:
        ev = model.events.get(m.type)
        if ev is None or not ev.person_roles():
            continue
        for col in ev.summary:
            if col in m.properties:
                return m.type, col, ev.properties[col]
            if col in m.roles:
                ent = model.entities[ev.roles[col]]
                return m.type, col, ent.properties.get(ent.key, "code") if ent.key else "code"
            if col in ("place_name", "place_id") and m.place:
                return m.type, col, "text" if col == "place_name" else "code"
    return None


def summary_element(settings, dataset: str) -> str | None:
    """The data element of a dataset's record summary (what masks it)."""
    found = summary_of(settings, dataset)
    return found[2] if found else None


def _summaries(lake: _Lake) -> str:
    """(dataset, record_id, summary) for every dataset that names persons (``summary_of``)."""
    parts = []
    for d in load_spec(lake.settings).datasets:
        found = summary_of(lake.settings, d.name) if d.persons else None
        src = read.source(lake.settings, found[0]) if found else None
        if src:
            parts.append(f"SELECT dataset, record_id, any_value(CAST({q(found[1])} AS VARCHAR)) AS summary FROM {src} "
                         f"WHERE dataset = '{d.name}' GROUP BY 1, 2")  # fmt: skip
    return " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS dataset, NULL::VARCHAR AS record_id, NULL::VARCHAR AS summary WHERE false"


def _places(lake: _Lake) -> str:
    """(master_id, place, via): every place the lake knows a person by — the parsed district of
    any address, any address text that is a standard address (→ station), a registered address
    code (→ station), and the places of their events whose place source names a station or a
    district (a hotel stayed at, the community of a door card)."""
    parts = ["SELECT master_id, d.code AS place, 'address' AS via FROM linked m "
             "JOIN district_codes d ON d.name = m.address_district"]
    spec = load_spec(lake.settings)
    model_build.place_tables(lake.con, lake.settings, spec)
    addr = places.source(lake.settings, "address")
    if addr:
        parts.append(f"SELECT master_id, a.station_code, 'standard address' FROM linked m JOIN {addr} a ON a.text = m.address")
        for name, ev in model_types.load(lake.settings).events.items():
            codes = [c for c, el in ev.properties.items() if el == "place_code"]
            src = read.source(lake.settings, name)
            for role in ev.person_roles() if src else ():
                parts += [f"SELECT m.master_id, a.station_code, '{name}' FROM {src} t JOIN linked m ON m.mention_id = t.{q(role)} "
                          f"JOIN {addr} a ON a.dzbm = t.{q(c)}" for c in codes]  # fmt: skip
    for p in spec.places:
        if not (p.station or p.district) or not current_files(lake.settings, "clean", p.dataset):
            continue
        for name, ev in model_types.load(lake.settings).events.items():
            src = read.source(lake.settings, name)
            for role in ev.person_roles() if src and ev.place != "none" else ():
                parts.append(f"SELECT m.master_id, coalesce(k.station, k.district), '{name}' FROM {src} t "
                             f"JOIN linked m ON m.mention_id = t.{q(role)} JOIN {q('place_' + p.kind)} k "
                             f"ON t.place_kind = '{p.kind}' AND k.code = t.place_id")  # fmt: skip
    return "SELECT DISTINCT * FROM (" + " UNION ALL ".join(parts) + ") WHERE place IS NOT NULL"


def _owned(lake: _Lake, event: str, member: str, thing: str) -> str | None:
    """(master_id, v): the ``thing`` of every ``event`` row whose ``member`` role names the person."""
    src = read.source(lake.settings, event)
    model = model_types.load(lake.settings)
    if src is None or event not in model.events or thing not in model.events[event].columns():
        return None
    return (f"SELECT m.master_id, CAST(t.{q(thing)} AS VARCHAR) AS v FROM {src} t JOIN linked m ON m.mention_id = t.{q(member)} "
            f"WHERE t.{q(thing)} IS NOT NULL")


def _extras(lake: _Lake) -> str:
    """master_id → household number, plates and companies, as the person file shows them."""
    empty = "SELECT NULL::VARCHAR AS master_id, NULL::VARCHAR AS v WHERE false"
    hh = _owned(lake, "family", "person", "household") or empty
    plates = _owned(lake, "ownership", "owner", "vehicle") or empty
    companies = _owned(lake, "membership", "member", "organization") or empty
    return f"""
      WITH h AS (SELECT master_id, min(v) AS household FROM ({hh}) GROUP BY 1),
           p AS (SELECT master_id, to_json(list(DISTINCT v ORDER BY v)) AS vehicles FROM ({plates}) GROUP BY 1),
           c AS (SELECT master_id, to_json(list(DISTINCT v ORDER BY v)) AS companies FROM ({companies}) GROUP BY 1)
      SELECT master_id, h.household, CAST(p.vehicles AS VARCHAR) AS vehicles, CAST(c.companies AS VARCHAR) AS companies
      FROM h FULL JOIN p USING (master_id) FULL JOIN c USING (master_id)"""


def _queries(lake: _Lake) -> dict[str, str]:
    keys = """
      SELECT DISTINCT value, kind, master_id FROM (
        SELECT citizen_id AS value, 'citizen_id' AS kind, master_id FROM linked
        UNION ALL SELECT phone, 'phone', master_id FROM linked
        UNION ALL SELECT name, 'name', master_id FROM linked) WHERE value IS NOT NULL"""
    if plates := _owned(lake, "ownership", "owner", "vehicle"):
        keys += f" UNION SELECT DISTINCT v, 'plate', master_id FROM ({plates})"
    return {
        "persons": "SELECT master_id, name, citizen_id, sex, birth_date, phone, district, CAST(mentions AS INTEGER) AS mentions "
                   "FROM entities_persons_master",
        "person_keys": keys,
        "person_places": _places(lake),
        "person_records": f"""
          SELECT m.mention_id, m.master_id, m.dataset, m.record_id, m.role, m.name, m.citizen_id, m.sex, m.phone,
                 m.address_district, strftime(m.seen_at, '%Y-%m-%dT%H:%M:%SZ') AS seen_at, m.match_probability, s.summary
          FROM linked m LEFT JOIN ({_summaries(lake)}) s USING (dataset, record_id)""",
        "person_extras": _extras(lake),
    }


def _batches(con: duckdb.DuckDBPyConnection, sql: str, columns: list[str]) -> Iterator[list[tuple]]:
    reader = con.sql(f"SELECT {', '.join(_q(c) for c in columns)} FROM ({sql})").to_arrow_reader(50_000)
    for batch in reader:
        yield list(zip(*(col.to_pylist() for col in batch.columns), strict=True))


def build(settings) -> dict[str, int] | None:
    """Build a new serving store from the current lake and switch it in; None when there
    is no person master yet."""
    con = duckdb.connect()
    try:
        lake = _Lake(settings, con)
        if not (lake.view("entities", "persons_master") and lake.view("entities", "person_links")
                and lake.view("entities", "person_mentions")):  # fmt: skip
            return None
        con.execute("""CREATE TEMP TABLE linked AS SELECT m.*, l.master_id, l.match_probability
                       FROM entities_person_mentions m JOIN entities_person_links l USING (mention_id)""")
        from zhijing.standards.divisions import divisions

        codes = [(c, d.name) for c, d in divisions().items() if len(c) == 6 and not c.endswith("00")]
        con.register("district_codes_in", pa.table({"code": [c for c, _ in codes], "name": [n for _, n in codes]}))
        con.execute("CREATE TEMP TABLE district_codes AS SELECT * FROM district_codes_in")
        counts: dict[str, int] = {}
        with store.new_version(settings) as target:
            for name, sql in _queries(lake).items():
                table = tables.metadata.tables[name]
                counts[name] = target.load(table, _batches(con, sql, [c.name for c in table.columns]))
            target.load(tables.store_info, iter([[("built_at", datetime.now(UTC).isoformat()),
                                                  ("counts", json.dumps(counts))]]))  # fmt: skip
        return counts
    finally:
        con.close()
