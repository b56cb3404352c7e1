"""Several calls about one event (a fire seen from five windows) are one incident: the same
category, within ``dispatch.dedup_metres`` and ``dispatch.dedup_minutes`` of an open incident.
A call with no place is merged only on the same standard address."""

from __future__ import annotations

import math
from datetime import datetime

from zhijing.localtime import instant_or_none

EARTH_M = 6_371_008.8


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def _when(v) -> datetime | None:
    """An aware instant (localtime.instant)."""
    return instant_or_none(v)


def duplicate_of(triaged: dict, recent: list[dict], metres_max: float = 300, minutes_max: float = 15) -> str | None:
    """The id of the primary incident ``triaged`` repeats, or None. ``recent``: incidents with
    id, received_at, category, lon, lat (and parent when they are themselves duplicates); the
    nearest in distance, then time, wins. Core passes ``settings.dispatch.dedup_metres`` and
    ``dedup_minutes``."""
    at = _when(triaged.get("received_at"))
    cat = triaged.get("category")
    if at is None or not cat:
        return None
    best = None
    for other in recent:
        if other.get("category") != cat or other.get("id") in (None, triaged.get("id")):
            continue
        then = _when(other.get("received_at"))
        dt = abs((at - then).total_seconds()) / 60 if then is not None else None
        if dt is None or dt > minutes_max:
            continue
        if None not in (triaged.get("lon"), triaged.get("lat"), other.get("lon"), other.get("lat")):
            d = metres(triaged["lon"], triaged["lat"], other["lon"], other["lat"])
        elif triaged.get("address_code") and triaged.get("address_code") == other.get("address_code"):
            d = 0.0
        else:
            continue
        if d <= metres_max and (best is None or (d, dt) < best[0]):
            best = ((d, dt), other.get("parent") or other["id"])
    return best[1] if best else None
