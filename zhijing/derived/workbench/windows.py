"""Space-time windows (时空窗口) for collision: an H3 cell, a checkpoint, an address, a
drawn polygon, rectangle or circle, each with a time range — validated and bounded, so an
empty, inverted or enormous window is one clear message and never a scan of the whole lake.
A shape may also name checkpoints (周边卡口: a scene's nearest): the window holds what was
inside the shape or read at those checkpoints."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import h3
import shapely
from shapely import affinity
from shapely.geometry import Point, Polygon

from zhijing.derived.workbench.presence import cursor
from zhijing.derived.workbench.subjects import instant
from zhijing.errors import ZhijingError
from zhijing.localtime import shown
from zhijing.model import places

MAX_WINDOWS = 20
MAX_DAYS = 31
MAX_AREA_KM2 = 50.0
MAX_RADIUS_M = 3000
DEFAULT_RADIUS_M = 200
MIN_H3_RES = 6
MAX_VERTICES = 2000
MAX_CHECKPOINTS = 50
KINDS = ("h3", "checkpoint", "address", "polygon", "circle")
M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Window:
    index: int
    label: str
    kind: str
    start: datetime
    end: datetime
    place_ids: tuple[str, ...] = ()  # checkpoints (a 卡口组, or a shape's 周边卡口): matched by id, not by shape
    shape: Polygon | None = None

    @property
    def bbox(self) -> tuple[float, float, float, float] | None:
        return self.shape.bounds if self.shape is not None else None

    def describe(self) -> dict:
        out = {"index": self.index, "label": self.label, "kind": self.kind, "start": shown(self.start),
               "end": shown(self.end)}  # fmt: skip
        if self.place_ids:
            out["place_ids"] = list(self.place_ids)
        if self.shape is not None:
            out["area_km2"] = round(area_km2(self.shape), 4)
            out["polygon"] = [[round(x, 6), round(y, 6)] for x, y in self.shape.exterior.coords]
        return out


def area_km2(shape: Polygon) -> float:
    lat = shape.centroid.y
    return shape.area * (M_PER_DEG / 1000) ** 2 * math.cos(math.radians(lat))


def circle(lon: float, lat: float, radius_m: float) -> Polygon:
    if not 0 < radius_m <= MAX_RADIUS_M:
        raise ZhijingError(f"radius must be between 1 and {MAX_RADIUS_M} m")
    unit = Point(lon, lat).buffer(1.0, quad_segs=16)
    return affinity.scale(unit, xfact=radius_m / (M_PER_DEG * math.cos(math.radians(lat))), yfact=radius_m / M_PER_DEG)


def _number(v, what: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ZhijingError(f"{what} must be a number") from None
    if not math.isfinite(x):
        raise ZhijingError(f"{what} must be a number")
    return x


def _lonlat(lon, lat) -> tuple[float, float]:
    x, y = _number(lon, "lon"), _number(lat, "lat")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise ZhijingError("lon/lat out of range")
    return x, y


def _address(settings, text: str) -> tuple[float, float]:
    src = places.source(settings, "address")  # the standard addresses (一标三实): text and code
    row = None
    if src and text:
        row = cursor().execute(
            f"SELECT lon::DOUBLE, lat::DOUBLE FROM {src} WHERE text = $t OR dzbm = $t "
            "ORDER BY (text = $t) DESC LIMIT 1", {"t": text.strip()}).fetchone()  # fmt: skip
    if row is None:
        raise ZhijingError("address not found among the standard addresses")
    return row


def _checkpoints(settings, value) -> tuple[str, ...]:
    """One checkpoint id, or several (a list or comma separated): each must exist."""
    codes = value if isinstance(value, list) else str(value or "").split(",")
    codes = tuple(dict.fromkeys(str(c).strip() for c in codes if str(c).strip()))
    if not 1 <= len(codes) <= MAX_CHECKPOINTS:
        raise ZhijingError(f"name from 1 to {MAX_CHECKPOINTS} checkpoint codes")
    src = places.gazetteer(settings, "checkpoint")
    known = {r[0] for r in cursor().execute(
        f"SELECT code FROM {src} WHERE code IN (SELECT unnest($c))", {"c": list(codes)}).fetchall()} if src else set()  # fmt: skip
    if set(codes) - known:
        raise ZhijingError("unknown checkpoint")
    return codes


def _shape(settings, kind: str, value, radius) -> tuple[Polygon | None, tuple[str, ...]]:
    if kind == "checkpoint":
        return None, _checkpoints(settings, value)
    if kind == "h3":
        cell = str(value or "").strip()
        if not h3.is_valid_cell(cell):
            raise ZhijingError("not an H3 cell")
        if h3.get_resolution(cell) < MIN_H3_RES:
            raise ZhijingError(f"H3 cell too large: resolution {MIN_H3_RES} or finer")
        return Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]), ()
    if kind == "address":
        lon, lat = _address(settings, str(value or ""))
        return circle(lon, lat, _number(radius or DEFAULT_RADIUS_M, "radius")), ()
    if kind == "circle":
        v = value if isinstance(value, dict) else {}
        lon, lat = _lonlat(v.get("lon"), v.get("lat"))
        return circle(lon, lat, _number(v.get("radius_m", radius or DEFAULT_RADIUS_M), "radius")), ()
    pts = value if isinstance(value, list) else []
    if not 3 <= len(pts) <= MAX_VERTICES or not all(isinstance(p, list | tuple) and len(p) == 2 for p in pts):
        raise ZhijingError(f"a polygon needs 3 to {MAX_VERTICES} [lon, lat] points")
    poly = Polygon([_lonlat(*p) for p in pts])
    if not poly.is_valid or poly.area == 0:
        raise ZhijingError("the polygon is not simple (it crosses itself or has no area)")
    return poly, ()


def parse(settings, specs: list[dict]) -> list[Window]:
    """Validated windows from their JSON form; a ZhijingError names the first bad one."""
    if not specs:
        raise ZhijingError("give at least one window")
    if len(specs) > MAX_WINDOWS:
        raise ZhijingError(f"at most {MAX_WINDOWS} windows")
    out = []
    for i, spec in enumerate(specs):
        try:
            kind = spec.get("kind")
            if kind not in KINDS:
                raise ZhijingError(f"kind must be one of {', '.join(KINDS)}")
            t0, t1 = instant(spec.get("start"), "start"), instant(spec.get("end"), "end")
            if t0 is None or t1 is None:
                raise ZhijingError("start and end are required")
            if t1 <= t0:
                raise ZhijingError("end must be after start")
            if (t1 - t0).total_seconds() > MAX_DAYS * 86400:
                raise ZhijingError(f"a window may span at most {MAX_DAYS} days")
            shape, place = _shape(settings, kind, spec.get("value"), spec.get("radius_m"))
            if shape is not None and spec.get("near_checkpoints"):
                place = _checkpoints(settings, spec["near_checkpoints"])
            if shape is not None and area_km2(shape) > MAX_AREA_KM2:
                raise ZhijingError(f"a window may cover at most {MAX_AREA_KM2:g} km²")
        except ZhijingError as exc:
            raise ZhijingError(f"window {i + 1}: {exc}") from None
        out.append(Window(i, str(spec.get("label") or f"窗口{i + 1}")[:64], kind, t0, t1, place, shape))
    return out


def inside(window: Window, lon, lat):
    """Which of the points lie in the window's shape (vectorised)."""
    return shapely.contains_xy(window.shape, lon, lat)
