"""The demo's units, driven: each assigned unit drives its fastest route on the street graph
at the road class's speed, slowed by congestion of its class and hour and a random
variation per street — the "true" drive, which the recommendation (nominal speeds only)
does not know; a foot patrol walks. A simulated unit (no human on its phone: no ``username``) accepts after a
turnout delay, arrives when its drive ends, clears after an on-scene time and drives back to
its post; a unit with a human moves the same way to a call, but its steps are the phone's.

Why the noise: it is what makes "recommended by travel time" a claim that can fail — the
test and the benchmark score the recommendation against this drive (tests/command/test_routing.py).

The simulator writes through a ``Sink`` (core's store in the app: ``StoreSink``), holds its
trips on itself, and runs as a daemon thread started by ``start(settings, app_state)``.
"""

from __future__ import annotations

import fcntl
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Protocol
from zoneinfo import ZoneInfo

import numpy as np

from zhijing.command.recommend import WALKING
from zhijing.command.roads import WALK_KMH, Mode, StreetCache, Streets
from zhijing.errors import ZhijingError
from zhijing.localtime import instant

log = logging.getLogger(__name__)

# Congestion: the share of the speed limit driven, by road class (GB 50220: 快速路 expressway,
# 主干路 arterial, 次干路 collector, 支路 local) and time of day; and the spread (σ of a
# log-normal factor per street driven): expressways jam hardest and vary most.
RUSH_HOURS = {7, 8, 17, 18}
DAY_HOURS = set(range(6, 22))
SHARE = {  # class: (rush, day, night)
    "快速路": (0.45, 0.85, 1.0),
    "主干路": (0.55, 0.75, 0.95),
    "次干路": (0.65, 0.8, 0.95),
    "支路": (0.8, 0.85, 0.95),
}
SPREAD = {"快速路": 0.45, "主干路": 0.3, "次干路": 0.25, "支路": 0.15}
DEFAULT_SHARE, DEFAULT_SPREAD = (0.7, 0.8, 0.95), 0.25
WALK_SPREAD = 0.1


def mean_share(road_class: str, hour: int) -> float:
    rush, day, night = SHARE.get(road_class, DEFAULT_SHARE)
    return rush if hour in RUSH_HOURS else day if hour in DAY_HOURS else night


def drive(streets: Streets, route: list[int], hour: int, rng: np.random.Generator, mode: Mode = "drive") -> np.ndarray:
    """Cumulative seconds of the true trip at each node of ``route`` (0 at its start): driven
    in the traffic of the road class and hour, or walked (congestion does not slow a walker)."""
    secs = np.zeros(len(route))
    for i, (u, v) in enumerate(zip(route[:-1], route[1:], strict=True)):
        if mode == "walk":
            secs[i + 1] = secs[i] + streets.metres(u, v) / (WALK_KMH / 3.6) * rng.lognormal(0.0, WALK_SPREAD)
            continue
        length, kmh, cls = streets.leg(u, v)
        share = mean_share(cls, hour) * rng.lognormal(0.0, SPREAD.get(cls, DEFAULT_SPREAD))
        secs[i + 1] = secs[i] + length / (kmh * share / 3.6)
    return secs


class Sink(Protocol):
    """Where the simulator reads units and open assignments and writes what happens."""

    def units(self) -> list[dict]: ...  # id, status, lon, lat, node, username, last_seen

    def open_assignments(self) -> list[dict]: ...  # id, unit, state, incident: {id, lon, lat}

    def advance(self, assignment_id, step: str) -> None: ...  # accept | arrive | clear

    def move(self, unit_id: str, lon: float, lat: float, node) -> None: ...  # position, last_seen, unit.moved


@dataclass
class Params:
    speed: float = 1.0  # simulated seconds per real second
    tick_s: float = 2.0  # real seconds between steps
    turnout_s: tuple[float, float] = (20.0, 90.0)  # simulated units accept after this long
    on_scene_s: tuple[float, float] = (300.0, 1200.0)  # and clear after this long on scene
    seed: int = 7


@dataclass
class Trip:
    assignment: object  # None: driving back to its post
    route: list[int]
    at: np.ndarray  # cumulative true seconds per node
    start: float  # simulated clock at departure
    last: tuple[float, float] | None = None  # the position last reported


@dataclass
class Simulator:
    """One city's simulated fleet. ``step(now)`` advances everything to simulated time ``now``
    (seconds); trips and pending steps live here, per simulator."""

    settings: object
    sink: Sink
    streets: StreetCache
    params: Params = field(default_factory=Params)
    hour: Callable[[], int] | None = None  # local hour of day (default: now in the deployment's zone)
    trips: dict[str, Trip] = field(default_factory=dict)
    due: dict[tuple[object, str], float] = field(default_factory=dict)  # (assignment, step) -> when
    heard: dict[str, float] = field(default_factory=dict)  # unit -> when it last reported (a move or a heartbeat)
    home: dict[str, int] = field(default_factory=dict)  # unit -> the street node of its post

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.params.seed)
        self.now = 0.0

    def _hour(self) -> int:
        return self.hour() if self.hour else datetime.now(UTC).astimezone(ZoneInfo(self.settings.timezone)).hour

    def step(self, now: float) -> None:
        self.now = now
        g = self.streets.get(self.settings)
        if g is None:
            return
        units = {u["id"]: u for u in self.sink.units()}
        for uid, u in units.items():  # where each unit starts is its post, where it returns after a call
            if uid not in self.home and (here := _node(g, u)) is not None:
                self.home[uid] = here
        busy = set()
        for a in self.sink.open_assignments():
            u = units.get(a["unit"])
            if u is None:
                continue
            busy.add(u["id"])
            try:
                self._advance(g, u, a, now)
            except ZhijingError as exc:  # a dispatcher withdrew it meanwhile: the next step sees the new state
                log.info("simulator: assignment %s: %s", a["id"], exc)
        for uid in [uid for uid, t in self.trips.items() if uid not in busy and t.assignment is not None]:
            del self.trips[uid]  # cancelled or reassigned meanwhile
        for uid, u in units.items():
            if uid not in busy and not u.get("username") and u.get("status") == "available":
                self._return(g, u, now)
        self._heartbeat(units, busy, now)

    def _advance(self, g: Streets, u: dict, a: dict, now: float) -> None:
        simulated = not u.get("username")
        if a["state"] == "dispatched" and simulated:
            self._after(a["id"], "accept", now, self.params.turnout_s)
        elif a["state"] == "en_route" and _place(a.get("incident")) is not None:  # an unlocated call: nowhere to drive
            trip = self.trips.get(u["id"])
            if trip is None or trip.assignment != a["id"]:
                trip = self._trip(g, u, g.nearest(*_place(a["incident"]))[0], a["id"], now)
            if trip is not None and self._progress(g, u["id"], trip, now) and simulated:
                self.sink.advance(a["id"], "arrive")
        elif a["state"] == "on_scene":
            self.trips.pop(u["id"], None)
            if simulated:
                self._after(a["id"], "clear", now, self.params.on_scene_s)

    def _after(self, assignment, step: str, now: float, span: tuple[float, float]) -> None:
        when = self.due.setdefault((assignment, step), now + float(self.rng.uniform(*span)))
        if now >= when:
            del self.due[(assignment, step)]
            self.sink.advance(assignment, step)

    def _return(self, g: Streets, u: dict, now: float) -> None:
        """A free simulated unit away from its post drives back (still available on the way)."""
        trip = self.trips.get(u["id"])
        if trip is None:
            home, here = self.home.get(u["id"]), _node(g, u)
            if home is None or here is None or here == home:
                return
            trip = self._trip(g, u, home, None, now)
        if trip is not None and self._progress(g, u["id"], trip, now):
            del self.trips[u["id"]]

    def _trip(self, g: Streets, u: dict, target: int, assignment, now: float) -> Trip | None:
        start = _node(g, u)
        if start is None:  # a unit that never reported where it is
            return None
        mode: Mode = "walk" if u.get("kind") in WALKING else "drive"
        route = g.route(start, target, mode) or [start]
        trip = self.trips[u["id"]] = Trip(assignment, route, drive(g, route, self._hour(), self.rng, mode), now)
        return trip

    def _progress(self, g: Streets, uid: str, trip: Trip, now: float) -> bool:
        """Report where the unit is on its trip at ``now``; True when it has arrived."""
        elapsed = now - trip.start
        if elapsed >= trip.at[-1]:
            self._report(g, uid, trip, len(trip.route) - 1, 0.0)
            return True
        i = int(np.searchsorted(trip.at, elapsed, side="right")) - 1
        self._report(g, uid, trip, i, (elapsed - trip.at[i]) / max(trip.at[i + 1] - trip.at[i], 1e-9))
        return False

    def _report(self, g: Streets, uid: str, trip: Trip, i: int, frac: float) -> None:
        """The unit's position ``frac`` of the way from node ``i`` of its route to the next;
        sent only when it changed (a unit waiting at the scene is not news)."""
        a = trip.route[i]
        b = trip.route[min(i + 1, len(trip.route) - 1)]
        lon = round(float(g.lon[a] + frac * (g.lon[b] - g.lon[a])), 6)
        lat = round(float(g.lat[a] + frac * (g.lat[b] - g.lat[a])), 6)
        if trip.last != (lon, lat):
            self.sink.move(uid, lon, lat, g.ids[a])
            trip.last, self.heard[uid] = (lon, lat), self.now

    def _heartbeat(self, units: dict[str, dict], busy: set[str], now: float) -> None:
        """Simulated units not on a trip report where they are every half staleness window of
        the wall clock (a phone's GPS does), so the demo's idle units stay recommendable; one
        heard from lately (``last_seen``) is left alone. A unit that moved this step has
        reported: the units read at the step's start are stale for it."""
        half = self.settings.dispatch.stale_minutes * 30.0  # real seconds
        wall = datetime.now(UTC)
        for uid, u in units.items():
            if uid in busy or uid in self.trips or u.get("username") or u.get("status") == "off" or _place(u) is None:
                continue
            seen = _instant(u.get("last_seen"))
            if now - self.heard.get(uid, -math.inf) >= half * self.params.speed and (seen is None or (wall - seen).total_seconds() >= half):
                self.sink.move(uid, float(u["lon"]), float(u["lat"]), u.get("node"))
                self.heard[uid] = now


def _instant(value) -> datetime | None:
    try:
        return instant(value)
    except ValueError:
        return None


def _node(g: Streets, u: dict) -> int | None:
    """The unit's street node: the one it names, else the nearest to where it is."""
    found = g.node(u.get("node"))
    if found is None and (here := _place(u)) is not None:
        found = g.nearest(*here)[0]
    return found


def _place(row: dict | None) -> tuple[float, float] | None:
    try:
        lon, lat = float(row["lon"]), float(row["lat"])
    except (KeyError, TypeError, ValueError):
        return None
    return (lon, lat) if math.isfinite(lon) and math.isfinite(lat) else None


@dataclass
class Running:
    simulator: Simulator
    thread: threading.Thread
    stopped: threading.Event
    lock: IO  # held while it runs: one simulator per home, however many web workers

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self.lock.close()  # closing the file releases the lock


def start(settings, app_state, sink: Sink, params: Params | None = None) -> Running | None:
    """Run the simulator in a daemon thread (the app calls this when
    ``settings.dispatch.simulate``); kept on ``app_state.simulator``, started once per app
    and once per home: with several web workers the first to take the home's lock drives
    the units, the others return None (two would drive each unit twice)."""
    running = getattr(app_state, "simulator", None)
    if isinstance(running, Running) and running.thread.is_alive():
        return running
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    lock = open(settings.state_dir / "simulator.lock", "a")  # noqa: SIM115 — held open while the simulator runs
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    streets = getattr(app_state, "streets", None)
    sim = Simulator(settings, sink, streets if isinstance(streets, StreetCache) else StreetCache(), params or Params())
    stopped = threading.Event()
    t0 = time.monotonic()

    def loop() -> None:
        while not stopped.wait(sim.params.tick_s):
            try:
                sim.step((time.monotonic() - t0) * sim.params.speed)
            except Exception as exc:  # noqa: BLE001 — a failed step must not stop the demo's city
                log.warning("simulator step failed: %s", type(exc).__name__)

    thread = threading.Thread(target=loop, name="zhijing-simulator", daemon=True)
    running = Running(sim, thread, stopped, lock)
    app_state.simulator = running
    thread.start()
    return running
