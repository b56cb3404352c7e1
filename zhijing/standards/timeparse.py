"""Times as departments really send them, to one UTC instant.

Accepted: ISO 8601 (with or without offset), 2024/3/5 [13:04[:05]], 20240305[130405],
2024年3月5日[ 13时04分], Excel serial days (e.g. 45356.54), epoch seconds and epoch
milliseconds. Naive local times are in the bureau's zone (Asia/Shanghai).

Dates written year last (06/04/1982) are read in the order the source declares (``order``:
``dmy`` or ``mdy``, from a field's ``format`` such as ``%d/%m/%Y``). Without a declaration
only a reading that cannot be wrong is taken (25/04/1982, 04/25/1982, 06/06/1982); a date
that reads two ways is never guessed: ``ambiguous_day_month``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from zhijing.standards.result import Normalized, invalid

LOCAL = ZoneInfo("Asia/Shanghai")
EXCEL_EPOCH = datetime(1899, 12, 30)
_SEP = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")
_CHINESE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[时:](\d{1,2})分?(?:(\d{1,2})秒?)?)?$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
# Plausible bounds for a recorded event, to tell epoch seconds from serials from junk.
MIN_YEAR, MAX_YEAR = 1900, 2100


def _local(y: str, mo: str, d: str, h: str | None, mi: str | None, s: str | None) -> datetime:
    return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=LOCAL)


def order_of(fmt: str | None) -> str | None:
    """``dmy`` / ``mdy`` from a declared year-last format (``%d/%m/%Y``, ``DD/MM/YYYY``), else None."""
    if not fmt:
        return None
    f = fmt.upper().replace("%", "")
    d, m, y = f.find("D"), f.find("M"), f.find("Y")
    if d < 0 or m < 0 or y < max(d, m):  # only formats that write the year last
        return None
    return "dmy" if d < m else "mdy"


def _day_month(a: int, b: int, order: str | None) -> tuple[int, int] | None:
    """(month, day) of a year-last date's first two numbers, or None when they read two ways."""
    if order == "dmy":
        return b, a
    if order == "mdy":
        return a, b
    if a == b or a > 12:
        return b, a
    if b > 12:
        return a, b
    return None


def ambiguous(raw: object, order: str | None = None) -> bool:
    """True for a year-last date whose day and month could be either (no declared order)."""
    m = _YEAR_LAST.match(str(raw).strip()) if raw is not None else None
    return bool(m) and order is None and _day_month(int(m.group(1)), int(m.group(2)), None) is None


def parse(raw: object, order: str | None = None) -> datetime | None:
    """A timezone-aware UTC datetime, or None if ``raw`` is no recognisable time."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        dt = raw if raw.tzinfo else raw.replace(tzinfo=LOCAL)
        return dt.astimezone(UTC)
    s = str(raw).strip()
    if not s:
        return None
    for pattern in (_SEP, _COMPACT, _CHINESE):
        m = pattern.match(s)
        if m:
            if pattern is _COMPACT and not MIN_YEAR <= int(m.group(1)) <= MAX_YEAR:
                break  # 12 or 14 digits that are epoch milliseconds, not yyyymmddHHMM[SS]
            try:
                return _local(*m.groups()).astimezone(UTC)
            except ValueError:
                break  # e.g. 12 digits that are epoch milliseconds with a month-like middle
    m = _YEAR_LAST.match(s)
    if m:
        md = _day_month(int(m.group(1)), int(m.group(2)), order)
        try:
            return None if md is None else _local(m.group(3), *map(str, md), *m.groups()[3:]).astimezone(UTC)
        except ValueError:
            return None
    try:
        if _NUMBER.match(s):
            return _from_number(float(s))
        dt = datetime.fromisoformat(s)
        return (dt if dt.tzinfo else dt.replace(tzinfo=LOCAL)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _from_number(x: float) -> datetime | None:
    if 1e11 <= x < 1e14:  # epoch milliseconds (1973 on)
        return datetime.fromtimestamp(x / 1000, UTC)
    if 1e8 <= x < 1e10:  # epoch seconds (1973 to 2286)
        return datetime.fromtimestamp(x, UTC)
    if 1 <= x < 80000:  # Excel serial days, local wall time
        return (EXCEL_EPOCH + timedelta(days=x)).replace(tzinfo=LOCAL).astimezone(UTC)
    return None


def _unread(raw: object, order: str | None) -> Normalized:
    return invalid("ambiguous_day_month" if ambiguous(raw, order) else "bad_format")


def normalize(raw: object, order: str | None = None) -> Normalized:
    """ISO 8601 UTC text (``2024-03-05T05:04:00Z``) or a reason."""
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    dt = parse(raw, order)
    if dt is None:
        return _unread(raw, order)
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        return invalid("out_of_range")
    return Normalized(dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def normalize_date(raw: object, order: str | None = None) -> Normalized:
    """A calendar date (``YYYY-MM-DD``) as the sender meant it, in local time."""
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    dt = parse(raw, order)
    if dt is None:
        return _unread(raw, order)
    local = dt.astimezone(LOCAL)
    if not MIN_YEAR <= local.year <= MAX_YEAR:
        return invalid("out_of_range")
    return Normalized(local.strftime("%Y-%m-%d"))
