"""What the public services read about one citizen or one vehicle, by the model's types
(DESIGN §10): case roles and offences for a criminal record, family and residence for the
household registration, vehicles, checkpoint passes and accidents for traffic. One DuckDB
connection per call; the person's records come from the serving store (their mentions)."""

from __future__ import annotations

import duckdb
import sqlalchemy as sa

from zhijing.localtime import shown
from zhijing.model import read
from zhijing.serving import store
from zhijing.serving.tables import person_records
from zhijing.standards import plate as plates

SUSPECT = "嫌疑人"  # the case role that puts a person's record in question
CRIMINAL = "刑事"  # the offence kind of a criminal case (行政: an administrative one is no criminal record)
HUKOU = "hukou"  # the residence kind of a registered (户籍) address
# The generated city has no electronic-police (电子警察) dataset: a checkpoint's speed reading
# above the limit stands in for a speeding violation (docs/public-services.md).
SPEED_LIMIT_KMH = 80
ENGINE_DIGITS = 6  # the last characters of the VIN (车架号后六位) stand in for the engine number


def mentions(settings, master_id: str) -> list[str]:
    """The person's mention ids (``dataset|record|role``), which the model's roles name."""
    with store.connect(settings) as conn:
        return list(conn.execute(sa.select(person_records.c.mention_id).where(person_records.c.master_id == master_id)).scalars())


def _rows(settings, sql: str, params: list, *types: str) -> list[dict]:
    """``sql`` over the model tables ``types`` (bound as t0, t1, …); [] when one is missing."""
    sources = [read.source(settings, t) for t in types]
    if any(s is None for s in sources):
        return []
    for i, src in enumerate(sources):
        sql = sql.replace(f"{{t{i}}}", src)
    with duckdb.connect() as con:
        cur = con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def criminal_cases(settings, master_id: str) -> list[str]:
    """The criminal cases naming the person a suspect (the reason a certificate needs a human)."""
    ids = mentions(settings, master_id)
    if not ids:
        return []
    rows = _rows(settings, """SELECT DISTINCT r.caseNumber FROM {t0} r JOIN {t1} o ON o.caseNumber = r.caseNumber
                              WHERE r.person IN (SELECT unnest($1)) AND r.role = $2 AND o.kind = $3 ORDER BY 1""",
                 [ids, SUSPECT, CRIMINAL], "case_role", "offence")  # fmt: skip
    return [r["caseNumber"] for r in rows]


def household(settings, master_id: str) -> dict:
    """The person's household registration: household number and relation (family), the
    registered address (a residence of kind hukou), the latest where records disagree."""
    ids = mentions(settings, master_id)
    if not ids:
        return {}
    fam = _rows(settings, "SELECT household, relation FROM {t0} WHERE person IN (SELECT unnest($1)) ORDER BY record_id DESC LIMIT 1",
                [ids], "family")  # fmt: skip
    res = _rows(settings, """SELECT address FROM {t0} WHERE resident IN (SELECT unnest($1)) AND kind = $2
                             ORDER BY ts DESC NULLS LAST LIMIT 1""", [ids, HUKOU], "residence")  # fmt: skip
    return {**(fam[0] if fam else {}), **(res[0] if res else {})}


def vehicle(settings, plate: str, engine: str) -> dict | None:
    """The registered vehicle with this plate whose VIN ends in ``engine`` (None: no such vehicle)."""
    code, normal = engine.strip().upper(), plates.normalize(plate)
    if len(code) != ENGINE_DIGITS or not normal.ok:
        return None
    rows = _rows(settings, "SELECT plate, brand, kind FROM {t0} WHERE plate = $1 AND upper(right(vin, $2)) = $3 LIMIT 1",
                 [normal.value, ENGINE_DIGITS, code], "vehicle")  # fmt: skip
    return rows[0] if rows else None


def violations(settings, plate: str) -> list[dict]:
    """The vehicle's speeding (超速) at checkpoints, newest first."""
    rows = _rows(settings, """SELECT ts, place_name, speed FROM {t0} WHERE vehicle = $1 AND speed > $2 ORDER BY ts DESC""",
                 [plate, SPEED_LIMIT_KMH], "pass")  # fmt: skip
    return [{"time": shown(r["ts"]), "place": r["place_name"], "kind": "超速 speeding", "speed_kmh": r["speed"],
             "limit_kmh": SPEED_LIMIT_KMH, "over_pct": round(100 * (r["speed"] - SPEED_LIMIT_KMH) / SPEED_LIMIT_KMH)}
            for r in rows]  # fmt: skip


def accidents(settings, plate: str) -> list[dict]:
    """The road accidents the vehicle was in, newest first (form and place, no other party)."""
    rows = _rows(settings, "SELECT ts, address, form FROM {t0} WHERE vehicle = $1 ORDER BY ts DESC", [plate], "accident")
    return [{"time": shown(r["ts"]), "place": r["address"], "form": r["form"]} for r in rows]
