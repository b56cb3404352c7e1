"""Company, vehicle and phone masters: deterministic on their standard keys (USCC, plate,
number), with name variants folded and each linked to the master persons behind it — read
from the model (registrations, ownership, membership), never from a named dataset."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from zhijing.lake.store import current_files, publish
from zhijing.model import build as model_build
from zhijing.model import read
from zhijing.model import types as model_types
from zhijing.model.build import q
from zhijing.sources.spec import load_spec

COMPANY_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司")
LEGAL_REP = "法定代表人"  # the membership position of a company's legal representative


def inputs(settings) -> list[str]:
    """The datasets these masters read (their registrations, ownership and membership): a new
    version of one of them, or a new phone in any mention, rebuilds them."""
    model = model_types.load(settings)
    kinds = {n for n, e in model.entities.items() if e.key} | {"ownership", "membership"}
    return sorted({d.name for d in load_spec(settings).datasets for m in d.model if m.type in kinds})


def _src(settings, zone: str, name: str) -> str | None:
    files = current_files(settings, zone, name)
    return f"read_parquet({files!r}, union_by_name=true)" if files else None


def build_all(settings, lineage: dict) -> dict[str, int]:
    """Companies, vehicles and phones from the model's registrations (``model/company``,
    ``model/vehicle``, ``model/phone``) and their holders from ``model/ownership`` and
    ``model/membership``, whatever datasets are mapped to them."""
    con = duckdb.connect()
    model_build.build(settings, con)  # the registrations follow the clean zone
    links = _src(settings, "entities", "person_links")
    ments = _src(settings, "entities", "person_mentions")
    counts = {}
    if links and ments:
        con.execute(f"CREATE TABLE pl AS SELECT mention_id, l.master_id FROM {links} l JOIN {ments} m USING (mention_id)")
    else:
        con.execute("CREATE TABLE pl (mention_id VARCHAR, master_id VARCHAR)")
    for name, sql in (("companies_master", _companies(settings)), ("vehicles_master", _vehicles(settings)),
                      ("phones_master", _phones(settings))):  # fmt: skip
        if sql is None:
            continue
        table = con.sql(sql).arrow()
        table = table.read_all() if hasattr(table, "read_all") else table
        publish(settings, "entities", name, pa.table(table), lineage, mode="replace")
        counts[name] = table.num_rows
    return counts


def _holders(settings, event: str, role: str, thing: str, where: str = "true") -> str:
    """(key, masters): the master persons behind ``event`` rows naming ``role`` for each ``thing``."""
    src = read.source(settings, event)
    if src is None:
        return "(SELECT NULL::VARCHAR AS key, NULL::VARCHAR[] AS masters WHERE false)"
    return (f"(SELECT e.{q(thing)} AS key, list(DISTINCT pl.master_id) AS masters FROM {src} e "
            f"JOIN pl ON pl.mention_id = e.{q(role)} WHERE e.{q(thing)} IS NOT NULL AND {where} GROUP BY 1)")


def _companies(settings) -> str | None:
    ent = read.source(settings, "company")
    if ent is None:
        return None
    folded = "regexp_replace(e.name, '(有限责任公司|股份有限公司|有限公司)$', '有限公司')"
    reps = _holders(settings, "membership", "member", "organization", f"e.position = '{LEGAL_REP}'")
    officers = _holders(settings, "membership", "member", "organization", f"e.position IS DISTINCT FROM '{LEGAL_REP}'")
    return f"""
      SELECT 'CM' || upper(substr(md5(e.id), 1, 14)) AS company_id, e.id AS uscc,
             mode({folded}) AS name, list(DISTINCT e.name) AS name_variants, any_value(e.address) AS address,
             coalesce(any_value(r.masters), []) AS legal_rep_masters, any_value(o.masters) AS officer_masters, count(*) AS records
      FROM {ent} e LEFT JOIN {reps} r ON r.key = e.id LEFT JOIN {officers} o ON o.key = e.id
      GROUP BY e.id"""


def _vehicles(settings) -> str | None:
    reg = read.source(settings, "vehicle")
    if reg is None:
        return None
    reads = read.source(settings, "pass")
    seen = (f"(SELECT vehicle AS plate, count(*) AS reads, min(ts) AS first_read, max(ts) AS last_read FROM {reads} GROUP BY 1)"
            if reads else "(SELECT NULL::VARCHAR AS plate, 0 AS reads, NULL AS first_read, NULL AS last_read WHERE false)")  # fmt: skip
    return f"""
      SELECT 'VM' || upper(substr(md5(r.id), 1, 14)) AS vehicle_id, r.id AS plate, any_value(r.vin) AS vin, any_value(r.brand) AS brand,
             coalesce(any_value(o.masters), []) AS owner_masters,
             any_value(s.reads) AS checkpoint_reads, any_value(s.first_read) AS first_read, any_value(s.last_read) AS last_read
      FROM {reg} r LEFT JOIN {_holders(settings, "ownership", "owner", "vehicle")} o ON o.key = r.id
      LEFT JOIN {seen} s ON s.plate = r.id
      GROUP BY r.id"""


def _phones(settings) -> str | None:
    subs = read.source(settings, "phone")
    ments = _src(settings, "entities", "person_mentions")
    if subs is None or ments is None:
        return None
    return f"""
      SELECT 'TM' || upper(substr(md5(s.id), 1, 14)) AS phone_id, s.id AS number, any_value(s.operator) AS operator,
             coalesce(any_value(h.masters), []) AS holder_masters, any_value(u.used_by) AS used_by_masters
      FROM {subs} s LEFT JOIN {_holders(settings, "ownership", "owner", "phone")} h ON h.key = s.id
      LEFT JOIN (SELECT m.phone, list(DISTINCT l.master_id) AS used_by FROM {ments} m JOIN {_src(settings, "entities", "person_links")} l
                 USING (mention_id) WHERE m.phone IS NOT NULL GROUP BY m.phone) u ON u.phone = s.id
      GROUP BY s.id"""
