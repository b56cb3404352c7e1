"""Police GIS (警用地理信息): jurisdictions with aggregate counts for the console map.

Aggregates only (incidents per station), never a person: the map needs no purpose. Incidents
are the model's ``incident`` events (every dispatch system mapped to it), the layers the
reference data of a geography role (``district``, ``station``, ``road``)."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import h3

from zhijing.model import places, read


def stations_with_counts(settings) -> dict:
    stations = places.source(settings, "station")
    if not stations:
        return {"type": "FeatureCollection", "features": []}
    con = duckdb.connect()
    rows = con.execute(f"SELECT code, name, district_code, geometry FROM {stations}").fetchall()
    counts: dict[str, int] = {}
    incidents = read.source(settings, "incident")
    if incidents:  # the handling unit's first 8 digits are its station's code
        counts = dict(con.execute(f"SELECT substr(unit, 1, 8), count(*) FROM {incidents} GROUP BY 1").fetchall())
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(geom),
         "properties": {"code": code, "name": name, "district_code": district, "incidents": counts.get(code, 0)}}
        for code, name, district, geom in rows]}  # fmt: skip


def incident_cells(settings, resolution: int = 8) -> dict:
    """Incidents (110) aggregated to H3 cells (about 0.7 km² at resolution 8), by category and
    by month: a heat layer that shows where and when, never who."""
    incidents = read.source(settings, "incident")
    empty = {"resolution": resolution, "cells": [], "categories": {}, "months": {}, "total": 0}
    if not incidents:
        return empty
    rows = duckdb.connect().execute(  # the month of the call where it was made (an April 1st 05:00 call is April's)
        f"SELECT lat, lon, coalesce(category, '未分类'), strftime(ts AT TIME ZONE $zone, '%Y-%m') FROM {incidents} "
        "WHERE lon IS NOT NULL AND lat IS NOT NULL AND ts IS NOT NULL", {"zone": settings.timezone}
    ).fetchall()
    cells = Counter(h3.latlng_to_cell(lat, lon, resolution) for lat, lon, _, _ in rows)
    centres = {c: h3.cell_to_latlng(c) for c in cells}
    return {
        "resolution": resolution,
        "cells": [[round(centres[c][1], 5), round(centres[c][0], 5), n] for c, n in cells.most_common()],
        "categories": dict(Counter(r[2] for r in rows).most_common()),
        "months": dict(sorted(Counter(r[3] for r in rows).items())),
        "total": len(rows),
    }


MAX_FEATURES = 100_000  # a reference layer for a browser map: a city's streets, not a country's


def reference_layer(settings, role: str) -> dict:
    """The reference data of a geography role with a GeoJSON ``geometry`` column (``district``
    outlines, ``road`` segments) as a FeatureCollection, its other columns as properties;
    empty when the lake has none (the map then draws the layers there are)."""
    src = places.source(settings, role)
    if not src:
        return {"type": "FeatureCollection", "features": []}
    con = duckdb.connect()
    cur = con.execute(f"SELECT * FROM {src} WHERE geometry IS NOT NULL LIMIT {MAX_FEATURES}")
    cols = [d[0] for d in cur.description]
    feats = []
    for row in cur.fetchall():
        rec = dict(zip(cols, row, strict=True))
        geom = rec.pop("geometry")
        props = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in rec.items() if not k.startswith("_")}
        feats.append({"type": "Feature", "geometry": json.loads(geom) if isinstance(geom, str) else geom, "properties": props})
    return {"type": "FeatureCollection", "features": feats}
