"""Minimisation and masking (DESIGN.md §2.4), the same in API, exports and UI.

A field graded above the caller's clearance is masked by what it is: citizen ID →
4301**********1234, phone → 138****5678, address → down to the district, name → 张*,
anything else → ***.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime
from typing import Any

from zhijing.access.models import CLEARANCE
from zhijing.localtime import shown, zone_label

_DISTRICT = re.compile(r"^(.*?(?:区|县|市(?!场)))")


def mask_value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return value
    s = str(value)
    if kind == "citizen_id" and len(s) >= 8:
        return s[:4] + "*" * (len(s) - 8) + s[-4:]
    if kind == "phone" and len(s) >= 7:
        return s[:3] + "****" + s[-4:]
    if kind == "address":
        m = _DISTRICT.match(s.removeprefix("浙江省宁波市").removeprefix("宁波市"))
        return (m.group(1) if m else "") + "…"
    if kind == "name":
        return s[0] + "*" * (len(s) - 1)
    if kind == "account_no" and len(s) >= 8:
        return s[:4] + "*" * (len(s) - 8) + s[-4:]
    return "***"


def mask_sql(column: str, kind: str) -> str | None:
    """``mask_value`` as a SQL expression over ``column`` (DuckDB, PostgreSQL), for the kinds
    masked by position; None for an address (its district needs the Python pattern)."""
    c = column
    by_kind = {
        "citizen_id": f"CASE WHEN length({c}) >= 8 THEN left({c}, 4) || repeat('*', length({c}) - 8) || right({c}, 4) ELSE '***' END",
        "account_no": f"CASE WHEN length({c}) >= 8 THEN left({c}, 4) || repeat('*', length({c}) - 8) || right({c}, 4) ELSE '***' END",
        "phone": f"CASE WHEN length({c}) >= 7 THEN left({c}, 3) || '****' || right({c}, 4) ELSE '***' END",
        "name": f"left({c}, 1) || repeat('*', length({c}) - 1)",
    }  # fmt: skip
    if kind == "address":
        return None
    return f"CASE WHEN {c} IS NULL OR {c} = '' THEN {c} ELSE {by_kind.get(kind, repr('***'))} END"


# A citizen ID (18 characters, or 15 digits), a bank account or card (16–19 digits) or a
# mainland mobile number, standing alone (not inside a longer token or a decimal fraction).
_IDENTIFIER = r"(?<![0-9A-Za-z.])(?:\d{17}[0-9Xx]|\d{15,19}|1[3-9]\d{9})(?![0-9A-Za-z]|\.\d)"
IDENTIFIER = re.compile(_IDENTIFIER)
IDENTIFIER_BYTES = re.compile(_IDENTIFIER.encode())
IDENTIFIER_GRADE = "sensitive"  # citizen IDs, phones and accounts are all graded sensitive (docs/access.md)


def _masked_identifier(m: re.Match) -> str:
    s = m.group()
    return mask_value(s, "phone" if len(s) == 11 else "citizen_id")


def mask_identifiers(value: Any, clearance: int) -> Any:
    """``value`` (text, or JSON data: lists, dicts and their keys) with every citizen ID,
    account and phone number in it masked, unless ``clearance`` reaches their grade — the
    serving boundary's one mask, whatever field an identifier travels in (ids, uids,
    highlights, evidence, file names)."""
    if clearance >= CLEARANCE[IDENTIFIER_GRADE]:
        return value
    if isinstance(value, str):
        return IDENTIFIER.sub(_masked_identifier, value)
    if isinstance(value, list):
        return [mask_identifiers(v, clearance) for v in value]
    if isinstance(value, dict):
        return {mask_identifiers(k, clearance): mask_identifiers(v, clearance) for k, v in value.items()}
    return value


def mask(record: dict, field_grades: dict[str, str], clearance: int, kinds: dict[str, str] | None = None) -> dict:
    """A copy of ``record`` with every field above ``clearance`` masked; ``kinds`` names
    each field's data element (citizen_id, phone, address, name...)."""
    kinds = kinds or {}
    out = {}
    for k, v in record.items():
        grade = field_grades.get(k, "internal")
        out[k] = mask_value(v, kinds.get(k, k)) if CLEARANCE.get(grade, 1) > clearance else v
    return out


def watermark(username: str, purpose: str | None) -> str:
    """The line every export carries: who, when (in the deployment's zone, named), under which purpose."""
    return f"智警导出 {username} {shown(datetime.now(UTC))}（{zone_label()}） 用途 {purpose or '-'} 仅限本案使用"


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """A cell a spreadsheet will not run (OWASP CSV injection): text that begins like a
    formula gets a leading apostrophe, which Excel and WPS show as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA) else value


def watermarked_csv(rows: list[dict], columns: list[str], username: str, purpose: str | None) -> tuple[str, str]:
    """An export as CSV (UTF-8 with BOM, so Excel opens it): the watermark line first and
    last, and on every row an export ID derived from it, so that even a fragment copied out
    of the file names who exported it, when and why; no cell can start a formula. Returns
    (text, export_id)."""
    mark = watermark(username, purpose)
    export_id = hashlib.sha256(mark.encode("utf-8")).hexdigest()[:16]
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180: a cell holding a line break is quoted
    w.writerow([f"# {mark} 导出编号 {export_id}"])
    w.writerow([*columns, "export_id"])
    w.writerows([*(neutralised(r.get(c, "")) for c in columns), export_id] for r in rows)
    w.writerow([f"# {mark} 导出编号 {export_id} 共 {len(rows)} 行"])
    return buf.getvalue(), export_id
