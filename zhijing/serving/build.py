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
from zhijing.serving import store, tables
from zhijing.sources.spec import load_spec

# the field of each dataset a person file shows as the record's one-line summary
SUMMARY_FIELDS = {"lodging": "旅馆名称", "rail_ticket": "train_no", "flight_ticket": "FLIGHT_NO", "coach_ticket": "班次",
                  "door_access": "community_code", "incident_110": "jqlb", "case_person": "RYLX", "traffic_accident": "事故形态",
                  "vehicle_registration": "号牌号码", "enterprise": "name", "enterprise_person": "position",
                  "bank_account": "开户行", "phone_subscriber": "operator", "hukou_person": "ZZ",
                  "floating_person": "JZDZ"}  # fmt: skip


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


def _summaries(lake: _Lake) -> str:
    """(dataset, record_id, summary) for every dataset that names persons."""
    parts = []
    for ds in load_spec(lake.settings).datasets:
        field = SUMMARY_FIELDS.get(ds.name)
        view = lake.view("clean", ds.name) if ds.persons else None
        if view and field and field in lake.columns(view):
            parts.append(f"SELECT '{ds.name}' AS dataset, _record_id AS record_id, CAST({_q(field)} AS VARCHAR) AS summary FROM {view}")
    return " UNION ALL ".join(parts) or "SELECT NULL::VARCHAR AS dataset, NULL::VARCHAR AS record_id, NULL::VARCHAR AS summary WHERE false"


def _places(lake: _Lake) -> str:
    """(master_id, place, via): every place the lake knows a person by — the registered
    address (standard address → station), any address text that is a standard address,
    hotels stayed at (→ station), the community of a door card (→ district), and the parsed
    district of any address."""
    parts = ["SELECT master_id, d.code AS place, 'address' AS via FROM linked m "
             "JOIN district_codes d ON d.name = m.address_district"]
    addr = lake.view("clean", "standard_address")
    if addr:
        parts.append(f"SELECT master_id, a.station_code, 'standard address' FROM linked m JOIN {addr} a ON a.text = m.address")
        for dataset, via in (("hukou_person", "registered address"), ("floating_person", "residence registration")):
            reg = lake.view("clean", dataset)
            if reg and "DZBM" in lake.columns(reg):
                parts.append(f"SELECT master_id, a.station_code, '{via}' FROM linked m "
                             f"JOIN {reg} h ON m.dataset = '{dataset}' AND h._record_id = m.record_id "
                             f"JOIN {addr} a ON a.dzbm = h.DZBM")  # fmt: skip
    hotels, lodging = lake.view("clean", "hotels"), lake.view("clean", "lodging")
    if hotels and lodging:
        parts.append(f"SELECT master_id, o.station_code, 'lodging' FROM linked m "
                     f"JOIN {lodging} g ON m.dataset = 'lodging' AND g._record_id = m.record_id "
                     f"JOIN {hotels} o ON o.hotel_code = g.旅馆编码")  # fmt: skip
    parts.append("SELECT master_id, substr(community, 3, 6), 'door card' FROM linked m "
                 "WHERE m.dataset = 'door_access' AND regexp_matches(community, '^DZ[0-9]{6}')")
    return "SELECT DISTINCT * FROM (" + " UNION ALL ".join(parts) + ") WHERE place IS NOT NULL"


def _extras(lake: _Lake) -> str:
    """master_id → household number, plates and companies, as the person file shows them."""
    def keyed(dataset: str, field: str) -> str | None:
        view = lake.view("clean", dataset)
        if not view or field not in lake.columns(view):
            return None
        return (f"SELECT m.master_id, CAST(r.{_q(field)} AS VARCHAR) AS v FROM linked m JOIN {view} r "
                f"ON m.dataset = '{dataset}' AND r._record_id = m.record_id WHERE r.{_q(field)} IS NOT NULL")

    empty = "SELECT NULL::VARCHAR AS master_id, NULL::VARCHAR AS v WHERE false"
    hh = keyed("hukou_person", "HH") or empty
    plates = keyed("vehicle_registration", "号牌号码") or empty
    companies = " UNION ALL ".join(q for q in (keyed("enterprise", "uscc"), keyed("enterprise_person", "uscc")) if q) or empty
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
    vehicles = lake.view("clean", "vehicle_registration")
    if vehicles and "号牌号码" in lake.columns(vehicles):
        keys += (f" UNION SELECT DISTINCT r.号牌号码, 'plate', m.master_id FROM linked m JOIN {vehicles} r "
                 f"ON m.dataset = 'vehicle_registration' AND r._record_id = m.record_id WHERE r.号牌号码 IS NOT NULL")  # fmt: skip
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
