"""Times as people read them. In a police record a time is evidence: every time the API, a
report or an export gives is an ISO string with its offset, in the deployment's zone
(``Settings.timezone``, default Asia/Shanghai), and every screen says which zone that is.

A stored time is one of three shapes, and the caller says which it holds:

- aware (a ``datetime`` with a zone, a pandas ``Timestamp``, ISO text ending ``Z`` or
  ``+08:00``): the instant it names;
- naive UTC (``naive="utc"``, the default): the lake's TIMESTAMPs (jobs run DuckDB and Spark
  in UTC), the serving store's ``seen_at``, system times (audit, cases, exports) that a
  SQLite column stored without their zone;
- naive local (``naive="local"``): a wall time as a person or a source wrote it, in the
  deployment's zone (a form's ``2025-03-01T08:00``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from zhijing.config import get_settings

Naive = Literal["utc", "local"]
# what a screen, report or export calls the zone its times are in (other zones: their IANA name)
ZONE_NAMES = {"Asia/Shanghai": ("北京时间", "Beijing time"), "Asia/Urumqi": ("新疆时间", "Xinjiang time")}
# an ISO date-time in text (a JSON value), with its offset when it has one
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?$")


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    """The deployment's zone (one setting: ``timezone``)."""
    return _zone(get_settings().timezone)


def _offset(at: datetime | None = None) -> str:
    """``UTC+8`` (``UTC+5:30``) of the zone at ``at`` (now)."""
    seconds = int((at or datetime.now(UTC)).astimezone(zone()).utcoffset().total_seconds())
    sign, seconds = ("+" if seconds >= 0 else "-"), abs(seconds)
    hours, minutes = divmod(seconds // 60, 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def zone_label(lang: Literal["zh", "en"] = "zh") -> str:
    """What a screen, report or export says its times are in: ``北京时间 UTC+8``."""
    name = get_settings().timezone
    zh, en = ZONE_NAMES.get(name, (name, name))
    return f"{zh if lang == 'zh' else en} {_offset()}"


def zone_info() -> dict[str, str]:
    """The zone as the console needs it: IANA name (to format in) and the labels it shows."""
    return {"name": get_settings().timezone, "label": zone_label("zh"), "label_en": zone_label("en")}


def instant(value: Any, naive: Naive = "utc") -> datetime | None:
    """The instant ``value`` names (None for None, NaT or empty text); a naive value is read
    as UTC or as the deployment's wall time, as ``naive`` says. Text that is not an ISO time
    raises ValueError."""
    if value is None or value == "" or value != value:  # None, empty, NaN / NaT
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise ValueError(f"not a time: {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC if naive == "utc" else zone())
    return value


def shown(value: Any, naive: Naive = "utc") -> str | None:
    """``value`` as ISO text with its offset, in the deployment's zone (to the second):
    ``2025-03-04T03:00:00+08:00``."""
    t = instant(value, naive)
    return None if t is None else t.astimezone(zone()).isoformat(timespec="seconds")


def in_zone(value: Any, naive: Naive = "local", to: tzinfo = UTC) -> datetime | None:
    """An input time (a form's wall time when naive) as an aware instant in ``to``; a time that
    has no instant there (year 1 at +14:00) raises ValueError like text that is not a time."""
    t = instant(value, naive)
    try:
        return None if t is None else t.astimezone(to)
    except OverflowError:
        raise ValueError("the time is out of range") from None


def shown_fields(row: dict, *keys: str, naive: Naive = "utc") -> dict:
    """``row`` with the times under ``keys`` shown (other values as they are)."""
    return {**row, **{k: shown(row[k], naive) for k in keys if k in row}}


def shown_all(tree: Any) -> Any:
    """A JSON-like tree with every time that names its instant (aware datetimes, Timestamps,
    ISO text with an offset) shown in the deployment's zone; naive text is left alone,
    since only its producer knows what it means. Dates stay dates."""
    if isinstance(tree, dict):
        return {k: shown_all(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [shown_all(v) for v in tree]
    if isinstance(tree, datetime) or hasattr(tree, "to_pydatetime"):
        return shown(tree) if getattr(tree, "tzinfo", None) is not None else tree
    if isinstance(tree, str) and (m := ISO_TIME.match(tree)) and m["offset"]:
        return shown(tree)
    return tree



def instant_or_none(value: Any) -> datetime | None:
    """``instant`` for a row or a request that may hold anything: None where it is not a time."""
    try:
        return instant(value)
    except (ValueError, TypeError):
        return None
