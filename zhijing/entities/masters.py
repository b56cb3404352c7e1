"""Company, vehicle and phone masters: deterministic on their standard keys (USCC, plate,
number), with name variants folded and each linked to the master persons behind it."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from zhijing.lake.store import current_files, publish

COMPANY_SUFFIXES = ("有限责任公司", "股份有限公司", "有限公司")
# the clean datasets whose person links these masters carry (with every mention's phone)
INPUTS = ("enterprise", "enterprise_person", "vehicle_registration", "phone_subscriber")


def _src(settings, zone: str, name: str) -> str | None:
    files = current_files(settings, zone, name)
    return f"read_parquet({files!r}, union_by_name=true)" if files else None


def build_all(settings, lineage: dict) -> dict[str, int]:
    con = duckdb.connect()
    links = _src(settings, "entities", "person_links")
    ments = _src(settings, "entities", "person_mentions")
    counts = {}
    if links and ments:
        con.execute(f"CREATE TABLE pl AS SELECT m.dataset, m.record_id, m.role, l.master_id FROM {links} l JOIN {ments} m USING (mention_id)")
    else:
        con.execute("CREATE TABLE pl (dataset VARCHAR, record_id VARCHAR, role VARCHAR, master_id VARCHAR)")
    for name, sql in (("companies_master", _companies(settings)), ("vehicles_master", _vehicles(settings)),
                      ("phones_master", _phones(settings))):  # fmt: skip
        if sql is None:
            continue
        table = con.sql(sql).arrow()
        table = table.read_all() if hasattr(table, "read_all") else table
        publish(settings, "entities", name, pa.table(table), lineage, mode="replace")
        counts[name] = table.num_rows
    return counts


def _companies(settings) -> str | None:
    ent, people = _src(settings, "clean", "enterprise"), _src(settings, "clean", "enterprise_person")
    if ent is None:
        return None
    folded = "regexp_replace(e.name, '(有限责任公司|股份有限公司|有限公司)$', '有限公司')"
    officers = (f"(SELECT p.uscc, list(DISTINCT pl.master_id) AS officer_masters FROM {people} p JOIN pl "
                f"ON pl.dataset = 'enterprise_person' AND pl.record_id = p._record_id GROUP BY p.uscc)") if people else \
        "(SELECT NULL::VARCHAR AS uscc, NULL::VARCHAR[] AS officer_masters WHERE false)"  # fmt: skip
    return f"""
      SELECT 'CM' || upper(substr(md5(e.uscc), 1, 14)) AS company_id, e.uscc,
             mode({folded}) AS name, list(DISTINCT e.name) AS name_variants, any_value(e.address) AS address,
             list(DISTINCT pl.master_id) FILTER (WHERE pl.master_id IS NOT NULL) AS legal_rep_masters,
             any_value(o.officer_masters) AS officer_masters, count(*) AS records
      FROM {ent} e LEFT JOIN pl ON pl.dataset = 'enterprise' AND pl.record_id = e._record_id
      LEFT JOIN {officers} o ON o.uscc = e.uscc
      WHERE e.uscc IS NOT NULL GROUP BY e.uscc"""


def _vehicles(settings) -> str | None:
    reg = _src(settings, "clean", "vehicle_registration")
    if reg is None:
        return None
    reads = _src(settings, "clean", "checkpoint_read")
    seen = (f"(SELECT plate, count(*) AS reads, min(ts) AS first_read, max(ts) AS last_read FROM {reads} GROUP BY plate)"
            if reads else "(SELECT NULL::VARCHAR AS plate, 0 AS reads, NULL AS first_read, NULL AS last_read WHERE false)")  # fmt: skip
    return f"""
      SELECT 'VM' || upper(substr(md5(r."号牌号码"), 1, 14)) AS vehicle_id, r."号牌号码" AS plate,
             any_value(r."车辆识别代号") AS vin, any_value(r."车辆品牌") AS brand,
             list(DISTINCT pl.master_id) FILTER (WHERE pl.master_id IS NOT NULL) AS owner_masters,
             any_value(s.reads) AS checkpoint_reads, any_value(s.first_read) AS first_read, any_value(s.last_read) AS last_read
      FROM {reg} r LEFT JOIN pl ON pl.dataset = 'vehicle_registration' AND pl.record_id = r._record_id
      LEFT JOIN {seen} s ON s.plate = r."号牌号码"
      WHERE r."号牌号码" IS NOT NULL GROUP BY r."号牌号码" """


def _phones(settings) -> str | None:
    subs = _src(settings, "clean", "phone_subscriber")
    ments = _src(settings, "entities", "person_mentions")
    if subs is None or ments is None:
        return None
    return f"""
      SELECT 'TM' || upper(substr(md5(s.msisdn), 1, 14)) AS phone_id, s.msisdn AS number, any_value(s.operator) AS operator,
             list(DISTINCT pl.master_id) FILTER (WHERE pl.master_id IS NOT NULL) AS holder_masters,
             any_value(u.used_by) AS used_by_masters
      FROM {subs} s LEFT JOIN pl ON pl.dataset = 'phone_subscriber' AND pl.record_id = s._record_id
      LEFT JOIN (SELECT m.phone, list(DISTINCT l.master_id) AS used_by FROM {ments} m JOIN {_src(settings, "entities", "person_links")} l
                 USING (mention_id) WHERE m.phone IS NOT NULL GROUP BY m.phone) u ON u.phone = s.msisdn
      WHERE s.msisdn IS NOT NULL GROUP BY s.msisdn"""
