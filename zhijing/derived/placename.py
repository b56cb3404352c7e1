"""Where a place is, in words: a point — a warning's coordinates or H3 cell — named by the
nearest street and the station whose jurisdiction holds it ("江南路 · 鼓楼派出所"), the way
an officer says a place, instead of a cell id or coordinates.

From the model's geography roles (``road`` segments with a ``name``, ``station``
jurisdictions with a ``name``): a deployment's own layers name its places the same way. The
index is built once per version of those layers in a process and asked many times."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import h3
import numpy as np
import shapely

from zhijing.model import places

STREET_M = 300.0  # a street further than this does not name the place
M_PER_DEG = 111_000.0
_LONLAT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Namer:
    streets: shapely.STRtree | None
    street_names: tuple[str, ...]
    stations: shapely.STRtree | None
    station_names: tuple[str, ...]

    def name(self, lon: float, lat: float) -> dict:
        """``{"street", "station", "text"}`` of a point (None where the layers say nothing)."""
        return self.names([lon], [lat])[0]

    def names(self, lon, lat) -> list[dict]:
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        street: list[str | None] = [None] * len(pts)
        station: list[str | None] = [None] * len(pts)
        if self.streets is not None and len(pts):
            (i, j) = self.streets.query_nearest(pts, max_distance=STREET_M / M_PER_DEG, all_matches=False)
            for a, b in zip(i, j, strict=True):
                street[a] = self.street_names[b]
        if self.stations is not None and len(pts):
            (i, j) = self.stations.query(pts, predicate="within")
            for a, b in zip(i, j, strict=True):
                station[a] = station[a] or self.station_names[b]
        return [{"street": s, "station": t, "text": " · ".join(x for x in (s, t) if x) or None}
                for s, t in zip(street, station, strict=True)]  # fmt: skip


def _layer(con, files: tuple[str, ...]) -> tuple[shapely.STRtree | None, tuple[str, ...]]:
    if not files:
        return None, ()
    src = f"read_parquet({list(files)!r}, union_by_name=true)"
    cols = [d[0] for d in con.execute(f"SELECT * FROM {src} LIMIT 0").description]
    if "name" not in cols or "geometry" not in cols:
        return None, ()
    rows = con.execute(f"SELECT CAST(name AS VARCHAR), geometry FROM {src} WHERE geometry IS NOT NULL AND name IS NOT NULL").fetchall()
    if not rows:
        return None, ()
    geoms = shapely.from_geojson([g if isinstance(g, str) else json.dumps(g) for _, g in rows])
    return shapely.STRtree(geoms), tuple(n for n, _ in rows)


@lru_cache(maxsize=2)
def _load(road: tuple[str, ...], station: tuple[str, ...]) -> Namer:
    con = duckdb.connect()
    try:
        return Namer(*_layer(con, road), *_layer(con, station))
    finally:
        con.close()


def namer(settings) -> Namer:
    """The namer of the current layers (built again when the lake has a new version of them)."""
    return _load(tuple(places.files(settings, "road")), tuple(places.files(settings, "station")))


def point_of(subject: str | None, evidence: dict | None) -> tuple[float, float] | None:
    """A warning's place as (lon, lat): its evidence's coordinates, else a subject that starts
    with ``lon,lat`` or with an H3 cell (the cell's centre); None for a warning with no place."""
    ev = evidence or {}
    try:
        if ev.get("lon") is not None and ev.get("lat") is not None:
            return float(ev["lon"]), float(ev["lat"])
    except (TypeError, ValueError):
        pass
    text = (subject or "").strip()
    if m := _LONLAT.match(text):
        return float(m.group(1)), float(m.group(2))
    head = text.split(" ", 1)[0]
    if head and h3.is_valid_cell(head):
        lat, lon = h3.cell_to_latlng(head)
        return lon, lat
    return None
