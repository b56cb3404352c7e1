"""What dispatch reads of the map's roles (``zhijing.model.places``): the stations with the
road node nearest each, and the police units' codes. One DuckDB connection per call."""

from __future__ import annotations

import json

import duckdb
from shapely.geometry import shape

from zhijing.config import Settings
from zhijing.model import places


def _columns(con, source: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def stations(settings: Settings) -> list[dict]:
    """Stations of the ``station`` role: code (8 digits), name and a point (its declared
    lon/lat when the role has them, else a point inside its jurisdiction)."""
    source = places.source(settings, "station")
    if not source:
        return []
    with duckdb.connect() as con:
        has = _columns(con, source)
        point = "TRY_CAST(lon AS DOUBLE), TRY_CAST(lat AS DOUBLE)" if {"lon", "lat"} <= has else "NULL, NULL"
        rows = con.execute(f"SELECT CAST(code AS VARCHAR), name, {point}, geometry FROM {source} ORDER BY 1").fetchall()
    out = []
    for code, name, lon, lat, geometry in rows:
        if (lon is None or lat is None) and geometry:
            p = shape(json.loads(geometry)).representative_point()
            lon, lat = p.x, p.y
        if lon is not None and lat is not None:
            out.append({"code": code, "name": name, "lon": float(lon), "lat": float(lat)})
    return out


def stations_at_nodes(settings: Settings) -> list[dict]:
    """Stations, each with the road node (role ``road_node``) nearest it — where its units
    start; a station keeps its own point when there is no street graph."""
    found = stations(settings)
    nodes = places.source(settings, "road_node")
    if not found or not nodes:
        return [{**s, "node": None} for s in found]
    with duckdb.connect() as con:
        con.execute("CREATE TEMP TABLE s (code VARCHAR, lon DOUBLE, lat DOUBLE)")
        con.executemany("INSERT INTO s VALUES (?, ?, ?)", [(s["code"], s["lon"], s["lat"]) for s in found])
        near = con.execute(f"""
            SELECT s.code, arg_min(CAST(n.node_id AS VARCHAR), (n.lon - s.lon) * (n.lon - s.lon) * cos(radians(s.lat)) ^ 2
                                   + (n.lat - s.lat) * (n.lat - s.lat)),
                   arg_min(n.lon, (n.lon - s.lon) * (n.lon - s.lon) * cos(radians(s.lat)) ^ 2 + (n.lat - s.lat) * (n.lat - s.lat)),
                   arg_min(n.lat, (n.lon - s.lon) * (n.lon - s.lon) * cos(radians(s.lat)) ^ 2 + (n.lat - s.lat) * (n.lat - s.lat))
            FROM s, (SELECT node_id, TRY_CAST(lon AS DOUBLE) AS lon, TRY_CAST(lat AS DOUBLE) AS lat FROM {nodes}) n
            WHERE n.lon IS NOT NULL AND n.lat IS NOT NULL GROUP BY s.code""").fetchall()  # fmt: skip
    at = {code: (node, lon, lat) for code, node, lon, lat in near}
    return [{**s, **dict(zip(("node", "lon", "lat"), at[s["code"]], strict=True))} if s["code"] in at else {**s, "node": None}
            for s in found]  # fmt: skip


def unit_codes(settings: Settings) -> list[str]:
    """The police units' 12-digit codes (role ``unit``), sorted."""
    source = places.source(settings, "unit")
    if not source:
        return []
    with duckdb.connect() as con:
        return [r[0] for r in con.execute(f"SELECT DISTINCT CAST(unit_code AS VARCHAR) FROM {source} ORDER BY 1").fetchall()]
