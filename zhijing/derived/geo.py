"""Police GIS (警用地理信息): jurisdictions with aggregate counts for the console map.

Aggregates only (incidents per station), never a person: the map needs no purpose."""

from __future__ import annotations

import json

import duckdb

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
