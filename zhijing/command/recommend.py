"""Which units to send: the available, non-stale units ranked by travel time on the street
graph (driving at the streets' speeds; a foot patrol walking), with the straight-line distance and its rank beside each (the dispatcher sees where
the map's nearest unit is not the fastest).

One shortest-path search per call: from the incident's nearest street node over the reverse
graph, so every unit's time to the incident comes out of the same search, whatever the
number of units. A call that lies off the streets, a unit that cannot reach it, or a lake
without streets is answered with a flag on each row (ranked by straight line), never an
exception: a dispatcher still needs an answer.
"""

from __future__ import annotations

import heapq
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from zhijing.command.pgrouting import PgCache
from zhijing.command.roads import Mode, StreetCache, metres
from zhijing.errors import ZhijingError
from zhijing.localtime import instant_or_none

MAX_SNAP_M = 2_000.0  # an incident farther than this from every street node is off the streets
WALKING = {"foot"}  # unit kinds that walk (步巡) rather than drive


class Router(Protocol):
    """A street graph answering by node keys: networkit's ``Streets`` or pgRouting's ``PgStreets``."""

    def nearest(self, lon: float, lat: float) -> tuple[Any, float]: ...

    def node(self, node_id) -> Any | None: ...

    def seconds_to(self, target, sources: list, mode: Mode = "drive") -> dict: ...


def _aware(value) -> datetime | None:
    """An aware instant (localtime.instant)."""
    return instant_or_none(value)


def eligible(settings, units: list[dict], now: datetime | None = None) -> list[dict]:
    """Units that may be recommended: status available, not off duty by the roster
    (``on_duty`` False), heard from within ``settings.dispatch.stale_minutes`` (a unit
    never heard from is stale), with a position."""
    return [u for u, _ in _eligible(settings, units, now)]


def _eligible(settings, units: list[dict], now: datetime | None) -> list[tuple[dict, tuple[float, float]]]:
    since = (now or datetime.now(UTC)) - timedelta(minutes=settings.dispatch.stale_minutes)
    out = []
    for u in units:
        if u.get("status") != "available" or u.get("on_duty") is False:
            continue
        seen, pos = _aware(u.get("last_seen")), _position(u)
        if seen is not None and seen >= since and pos is not None:
            out.append((u, pos))
    return out


def _position(u: dict) -> tuple[float, float] | None:
    try:
        lon, lat = float(u["lon"]), float(u["lat"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lon, lat) if math.isfinite(lon) and math.isfinite(lat) else None


def cache_for(settings) -> StreetCache | PgCache:
    """The street cache a caller holds for ``settings`` (``app.state``, a run): pgRouting when
    ``settings.dispatch.pgrouting_url`` names a database, else networkit in process."""
    url = settings.dispatch.pgrouting_url
    return PgCache(url) if url else StreetCache()


def router_for(settings, streets: StreetCache | PgCache | Router | None) -> Router | None:
    """The graph to route on: the current version of the caller's cache, or the graph given;
    without either a fresh one (slow: callers that answer often hold a cache)."""
    if streets is None:
        streets = cache_for(settings)
    return streets.get(settings) if isinstance(streets, StreetCache | PgCache) else streets


def recommend(settings, lon: float, lat: float, units: list[dict], k: int = 3, *,
              streets: StreetCache | PgCache | Router | None = None, now: datetime | None = None) -> list[dict]:  # fmt: skip
    """The ``k`` best units for an incident at (lon, lat): rows of {unit, callsign, station,
    kind, rank, travel_s, straight_m, straight_rank, flag}. ``flag`` is None when routed on
    the streets; else ``unreachable`` (this unit cannot reach the incident's street; ranked
    after the reachable ones), ``off_streets`` (the incident is farther than MAX_SNAP_M
    from every street) or ``no_streets`` (the lake has none) — then ranked by straight line."""
    found = _eligible(settings, units, now)
    if not found or _position({"lon": lon, "lat": lat}) is None:  # an unlocated call: no distance to rank by
        return []
    pool = [u for u, _ in found]
    pos = np.array([p for _, p in found])
    straight = metres(pos[:, 0], pos[:, 1], lon, lat)
    straight_rank = np.empty(len(pool), dtype=int)
    straight_rank[np.argsort(straight, kind="stable")] = np.arange(1, len(pool) + 1)
    travel: list[float | None] = [None] * len(pool)
    flags: list[str | None]
    try:
        router = router_for(settings, streets)
    except ZhijingError:  # streets declared wrongly (the cache logged why, once): answer by straight line
        router = None
    if router is None:
        flags = ["no_streets"] * len(pool)
    else:
        target, snap = router.nearest(lon, lat)
        if snap > MAX_SNAP_M:
            flags = ["off_streets"] * len(pool)
        else:
            keys = [_key(router, u, p) for u, p in found]
            modes: list[Mode] = ["walk" if u.get("kind") in WALKING else "drive" for u in pool]
            secs = {m: router.seconds_to(target, [key for key, mk in zip(keys, modes, strict=True) if key is not None and mk == m], m)
                    for m in set(modes)}  # fmt: skip
            travel = [secs[m].get(key) if key is not None else None for key, m in zip(keys, modes, strict=True)]
            flags = [None if t is not None else "unreachable" for t in travel]
    order = heapq.nsmallest(k, range(len(pool)), key=lambda i: (travel[i] is None, travel[i] or 0.0, straight[i]))
    return [{"unit": pool[i].get("id"), "callsign": pool[i].get("callsign"), "station": pool[i].get("station"),
             "kind": pool[i].get("kind"), "rank": r + 1, "travel_s": None if travel[i] is None else round(travel[i], 1),
             "straight_m": round(float(straight[i]), 1), "straight_rank": int(straight_rank[i]), "flag": flags[i]}
            for r, i in enumerate(order)]  # fmt: skip


def _key(router: Router, unit: dict, position: tuple[float, float]):
    """The unit's street node: its recorded node if the graph knows it, else the node nearest
    its position (within MAX_SNAP_M)."""
    key = router.node(unit.get("node"))
    if key is not None:
        return key
    key, snap = router.nearest(*position)
    return key if snap <= MAX_SNAP_M else None

