"""The API's calls into the other parts of dispatch — intake's triage, routing's
recommendation, the KPI tables — each behind a small adapter, so the API works (and says
which way it worked) while a part is missing: a stand-in answers, labelled as such."""

from __future__ import annotations

import importlib
import math
from types import ModuleType

import h3

from zhijing.command import store
from zhijing.config import Settings

FALLBACK = "fallback"  # the ``method`` of an answer a stand-in gave
SIMULATOR = "simulator"  # the actor of the steps the simulator takes


def _part(name: str) -> ModuleType | None:
    """``zhijing.command.<name>`` when it exists (an error inside it is not hidden)."""
    full = f"zhijing.command.{name}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            raise
        return None


def triage(settings: Settings, call: dict, holder=None) -> dict:
    """Intake's ``triage`` (locate, classify, plan) with the app's loaded ``Intake``
    (``holder.intake``, made once: its models load in seconds); without intake, a stand-in
    that locates by coordinates only (station by jurisdiction polygon) and classifies nothing."""
    intake = _part("intake")
    if intake is None:
        return _triage_by_coordinates(settings, call)
    return intake.triage(settings, call, intake.for_holder(settings, holder) if holder is not None else None)


def _triage_by_coordinates(settings: Settings, call: dict) -> dict:
    from zhijing.derived.risk.units import station_at

    out = {**call, "located": "none", "cell": None, "station": None, "category": None, "priority": 2, "confidence": None,
           "plan": None, "flag": None, "method": FALLBACK}  # fmt: skip
    lon, lat = call.get("lon"), call.get("lat")
    if lon is not None and lat is not None:
        unit = station_at(settings, lon, lat)
        out |= {"located": "coords", "cell": h3.latlng_to_cell(lat, lon, 9), "station": unit[:8] if unit else None}
        out["flag"] = None if unit else "outside_city"
    elif call.get("address"):
        out["flag"] = "unparsed"
    if not (call.get("narrative") or "").strip():
        out["flag"] = out["flag"] or "empty_text"
    return out


def streets(settings: Settings, holder) -> object | None:
    """The street graph cache the app holds (``holder.streets``, made once; the simulator
    shares it), or None without routing."""
    routing = _part("recommend")
    if routing is None or holder is None:
        return None
    cache = getattr(holder, "streets", None)
    if cache is None:
        cache = holder.streets = routing.cache_for(settings)
    return cache


def recommendations(settings: Settings, incident: dict, units: list[dict], k: int = 3, holder=None) -> list[dict]:
    """Routing's ``recommend`` (travel time on the street graph, the straight-line rank
    beside it); without it, available non-stale units by straight-line distance only."""
    if incident.get("lon") is None or incident.get("lat") is None:
        return []
    routing = _part("recommend")
    if routing is not None:
        return routing.recommend(settings, incident["lon"], incident["lat"], units, k, streets=streets(settings, holder))
    ready = [u for u in units if u.get("status") == "available" and not u.get("stale") and u.get("on_duty") is not False and u.get("lon") is not None]
    ranked = sorted((_metres(incident, u), u["id"], u) for u in ready)[:k]
    return [{"unit": u["id"], "callsign": u["callsign"], "kind": u["kind"], "travel_s": None, "straight_m": round(m),
             "straight_rank": i, "rank": i, "method": FALLBACK} for i, (m, _, u) in enumerate(ranked, 1)]  # fmt: skip


def _metres(a: dict, b: dict) -> float:
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b["lon"] - a["lon"]) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def kpi(settings: Settings, station: str | None) -> dict:
    """The KPI tables (``kpi.from_store``) of ``station`` (a code prefix; None: the city)."""
    part = _part("kpi")
    if part is None:
        return {"method": FALLBACK, "rows": [], "targets": {}}
    if hasattr(part, "from_store"):
        return part.from_store(settings, station=station)
    return part.metrics(store.kpi_rows(settings, station), settings)


def plan(settings: Settings, incident: dict) -> dict | str | None:
    """The contingency plan (应急预案) of an incident's category and grade in full, from
    intake's plans; without them, the plan id it was linked to."""
    plans = _part("plans")
    if plans is None or not incident.get("plan"):
        return incident.get("plan")
    return plans.plan_for(plans.load(settings), incident.get("category"), incident.get("priority"))


class StoreSink:
    """What the simulator reads and writes, through the store (so every move and step is an event)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def units(self) -> list[dict]:
        return store.units(self.settings)

    def open_assignments(self) -> list[dict]:
        return store.open_assignments(self.settings)

    def advance(self, assignment_id, step: str) -> None:
        store.advance(self.settings, int(assignment_id), step, SIMULATOR)

    def move(self, unit_id: str, lon: float, lat: float, node) -> None:
        store.move_unit(self.settings, unit_id, lon, lat, None if node is None else str(node))


def start_simulator(settings: Settings, holder) -> object | None:
    """Drive the units in the background (``dispatch.simulate``: the demo), once per app."""
    simulator = _part("simulator")
    if simulator is None:
        return None
    streets(settings, holder)
    return simulator.start(settings, holder, StoreSink(settings))
