"""Which station's jurisdiction holds a place (for routing area warnings to an inbox)."""

from __future__ import annotations

import json
from functools import lru_cache

from shapely import contains_xy
from shapely.geometry import shape

from zhijing.config import Settings
from zhijing.derived.risk import data


@lru_cache(maxsize=4)
def _stations(files: tuple[str, ...]) -> list:
    import duckdb

    rows = duckdb.connect().execute(f"SELECT code, geometry FROM read_parquet({list(files)!r})").fetchall()
    return [(code, shape(json.loads(g))) for code, g in rows]


def station_at(settings: Settings, lon: float, lat: float) -> str | None:
    """The station's unit code (station code + 0000, as cases' 立案单位), or None."""
    f = data.files(settings, "places/station")
    if not f:
        return None
    for code, poly in _stations(tuple(f)):
        if contains_xy(poly, lon, lat):
            return f"{code}0000"
    return None
