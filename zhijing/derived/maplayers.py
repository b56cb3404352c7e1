"""The console map's reference layers (station jurisdictions, districts, streets) as files
computed once per data version: simplified for each zoom level, streets cut into tiles, stored
gzip-compressed and served with a far-future ``Cache-Control`` under a versioned address —
a screen downloads them once, and again only when the lake has a new version of them.

Static city geometry without personal data: the files may stay in the officer's browser
cache (``private``), behind the same login as before. A level draws what is legible at that
zoom: the main roads at the city's scale (level 10), the secondary ones from level 12, every
street from 14 (when the road layer has a ``road_class``; without one, every street at every
level), each line simplified to about a pixel of its level."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import numpy as np
import shapely

from zhijing.derived import computed
from zhijing.model import places

KIND = "maplayers"
FORMAT = "2"  # bump when the files' shape changes: a new key, so browsers fetch again
LEVELS = (10, 12, 14)  # tile zooms; a map at zoom z draws the highest level ≤ z (10 below 10); streets tiled above 10
WHOLE = {"station": ("code", "name", "district_code"), "district": ("code", "name")}  # layer → properties kept
TILED = "road"
ROAD_LEVEL = {"高速公路": 10, "快速路": 10, "主干路": 10, "次干路": 12}  # from which level a class shows (others: 14)
MAX_FEATURES = 200_000


def pixel_deg(level: int) -> float:
    """One screen pixel at ``level`` in degrees of longitude (256-pixel tiles)."""
    return 360.0 / 256 / 2**level


def version(settings) -> str:
    """The key of the current layers: their files (a new lake version has new paths) and the format."""
    return computed.key(FORMAT, *(places.files(settings, role) for role in (*WHOLE, TILED)))


def _rows(settings, role: str, keep: tuple[str, ...] | None) -> tuple[np.ndarray, list[dict]]:
    """The role's geometries (an array) and each one's kept properties."""
    src = places.source(settings, role)
    if not src:
        return np.empty(0, dtype=object), []
    con = duckdb.connect()
    try:
        cur = con.execute(f"SELECT * FROM {src} WHERE geometry IS NOT NULL LIMIT {MAX_FEATURES}")
        cols = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        con.close()
    g = cols.index("geometry")
    geoms = shapely.from_geojson([r[g] if isinstance(r[g], str) else json.dumps(r[g]) for r in rows])
    wanted = [(k, cols.index(k)) for k in (keep if keep is not None else ("name", "road_class")) if k in cols]
    return geoms, [{k: None if r[i] is None else str(r[i]) for k, i in wanted} for r in rows]


def _features(geoms: np.ndarray, props: list[dict], level: int) -> list[str]:
    """GeoJSON features (as text) simplified to about a pixel of ``level``, coordinates rounded
    to 10 m below level 14 and to 1 m from it (decimal places: no binary fractions in the text)."""
    shapes = shapely.set_precision(shapely.simplify(geoms, pixel_deg(level), preserve_topology=True),
                                   1e-5 if level >= 14 else 1e-4)  # fmt: skip
    text = shapely.to_geojson(shapes)
    return [f'{{"type":"Feature","geometry":{t},"properties":{json.dumps(p, ensure_ascii=False, separators=(",", ":"))}}}'
            if not e else "" for t, p, e in zip(text, props, shapely.is_empty(shapes), strict=True)]  # fmt: skip


def _write(path: Path, features: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = '{"type":"FeatureCollection","features":[' + ",".join(f for f in features if f) + "]}"
    path.write_bytes(gzip.compress(body.encode(), mtime=0))


def _tiles(geoms: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each geometry's tile range at ``level``: (x0, x1, y0, y1), inclusive."""
    b = shapely.bounds(geoms)
    n = 2**level
    x = np.clip(((b[:, [0, 2]] + 180.0) / 360.0 * n).astype(int), 0, n - 1)
    lat = np.radians(np.clip(b[:, [3, 1]], -85.0511, 85.0511))  # north edge → smallest y
    y = np.clip(((1.0 - np.arcsinh(np.tan(lat)) / np.pi) / 2.0 * n).astype(int), 0, n - 1)
    return x[:, 0], x[:, 1], y[:, 0], y[:, 1]


def _bounds(geoms: np.ndarray) -> list[list[float]]:
    b = shapely.total_bounds(geoms)
    return [[round(b[1], 5), round(b[0], 5)], [round(b[3], 5), round(b[2], 5)]]


def build(settings, out: Path, report: computed.Report) -> None:
    """Every level of every layer into ``out``: ``<layer>/<level>.json.gz`` for the whole
    layers (and the streets of the lowest level), ``road/<level>/<x>/<y>.json.gz`` for the
    street tiles above it, ``meta.json`` the bounds."""
    bounds = None
    for n, (role, keep) in enumerate(WHOLE.items()):
        report(0.1 + 0.3 * n / len(WHOLE), role)
        geoms, props = _rows(settings, role, keep)
        if len(geoms) and role == "station":
            bounds = _bounds(geoms)
        for level in LEVELS:
            _write(out / role / f"{level}.json.gz", _features(geoms, props, level))
    report(0.5, TILED)
    geoms, props = _rows(settings, TILED, None)
    for level in LEVELS:
        keep = np.array([ROAD_LEVEL.get(p.get("road_class") or "", 14) <= level or "road_class" not in p for p in props], bool)
        feats = _features(geoms[keep], [p for p, k in zip(props, keep, strict=True) if k], level)
        if level == LEVELS[0]:  # the city's main roads: one small file, not dozens of tiles
            _write(out / TILED / f"{level}.json.gz", feats)
            continue
        tiles: dict[tuple[int, int], list[str]] = {}
        for f, x0, x1, y0, y1 in zip(feats, *_tiles(geoms[keep], level), strict=True):
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    tiles.setdefault((x, y), []).append(f)
        for (x, y), found in tiles.items():
            _write(out / TILED / str(level) / str(x) / f"{y}.json.gz", found)
        report(0.5 + 0.5 * (LEVELS.index(level) + 1) / len(LEVELS), f"{TILED} {level}")
    if bounds is None and len(geoms):
        bounds = _bounds(geoms)
    (out / "meta.json").write_text(json.dumps({"bounds": bounds, "layers": {
        role: (out / role).is_dir() for role in (*WHOLE, TILED)}}), encoding="utf-8")  # fmt: skip


EMPTY = gzip.compress(b'{"type":"FeatureCollection","features":[]}', mtime=0)


def manifest(settings, wait_s: float = 60.0) -> dict:
    """The current version with its levels and bounds, building it first if needed (a
    server warms it at start; a cold first screen waits the few seconds it takes)."""
    k = version(settings)
    state = computed.start(settings, KIND, k, lambda out, report: build(settings, out, report), wait_s)
    found = computed.ready(settings, KIND, k)
    meta = json.loads((found / "meta.json").read_text(encoding="utf-8")) if found else {}
    return {"version": k if found else None, "state": state["state"], "levels": list(LEVELS),
            "tiled": [TILED], "bounds": meta.get("bounds"), "layers": meta.get("layers", {})}  # fmt: skip


def file(settings, k: str, *parts: str) -> bytes | None:
    """The gzip-compressed body of one file of version ``k`` (an empty collection for a tile
    with no street); None when that version or file is not on this server."""
    found = computed.ready(settings, KIND, k)
    if found is None:
        return None
    path = found.joinpath(*parts[:-1], f"{parts[-1]}.json.gz")
    if path.is_file():
        return path.read_bytes()
    return EMPTY if parts[0] == TILED and len(parts) > 2 else None
