"""Police GIS (警用地理信息): jurisdictions with aggregate counts for the console map.

Aggregates only (incidents per station), never a person: the map needs no purpose."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import h3

from zhijing.lake.store import current_files


def stations_with_counts(settings) -> dict:
    stations = current_files(settings, "clean", "police_stations")
    if not stations:
        return {"type": "FeatureCollection", "features": []}
    con = duckdb.connect()
    rows = con.execute(f"SELECT code, name, district_code, geometry FROM read_parquet({stations!r})").fetchall()
    counts: dict[str, int] = {}
    incidents = current_files(settings, "clean", "incident_110")
    if incidents:
        counts = dict(con.execute(f"SELECT substr(cjdw, 1, 8), count(*) FROM read_parquet({incidents!r}, union_by_name=true) GROUP BY 1").fetchall())
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": json.loads(geom),
         "properties": {"code": code, "name": name, "district_code": district, "incidents": counts.get(code, 0)}}
        for code, name, district, geom in rows]}  # fmt: skip


def incident_cells(settings, resolution: int = 8) -> dict:
    """110 incidents aggregated to H3 cells (about 0.7 km² at resolution 8), by category and
    by month: a heat layer that shows where and when, never who."""
    incidents = current_files(settings, "clean", "incident_110")
    empty = {"resolution": resolution, "cells": [], "categories": {}, "months": {}, "total": 0}
    if not incidents:
        return empty
    rows = duckdb.connect().execute(  # the month of the call where it was made (an April 1st 05:00 call is April's)
        f"SELECT wd, jd, coalesce(jqlb, '未分类'), strftime(bjsj AT TIME ZONE $zone, '%Y-%m') FROM read_parquet({incidents!r}, union_by_name=true) "
        "WHERE jd IS NOT NULL AND wd IS NOT NULL AND bjsj IS NOT NULL", {"zone": settings.timezone}
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


def reference_layer(settings, dataset: str) -> dict:
    """A catalogued reference dataset with a GeoJSON ``geometry`` column (district outlines,
    road segments) as a FeatureCollection, its other columns as properties; empty when the
    dataset is not in the lake (the map then draws the layers there are)."""
    files = current_files(settings, "clean", dataset)
    if not files:
        return {"type": "FeatureCollection", "features": []}
    con = duckdb.connect()
    cur = con.execute(f"SELECT * FROM read_parquet({files!r}, union_by_name=true) WHERE geometry IS NOT NULL LIMIT {MAX_FEATURES}")
    cols = [d[0] for d in cur.description]
    feats = []
    for row in cur.fetchall():
        rec = dict(zip(cols, row, strict=True))
        geom = rec.pop("geometry")
        props = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in rec.items() if not k.startswith("_")}
        feats.append({"type": "Feature", "geometry": json.loads(geom) if isinstance(geom, str) else geom, "properties": props})
    return {"type": "FeatureCollection", "features": feats}
