"""The street graph for dispatch: the geography roles ``road`` (segment_id, from_node, to_node,
speed_kmh, length_m, road_class; optional ``oneway``) and ``road_node`` (node_id, lon, lat) as
a networkit graph weighted by travel time (length_m / speed_kmh).

Why a cache the caller holds: building the graph reads the lake and costs ~0.5 s for a city,
while a recommendation must answer in milliseconds. The graph depends only on the lake's
files, so ``StreetCache`` keys it by those files (their paths carry the published version)
and rebuilds when a new version lands. It lives where its caller keeps it (the app's state,
a benchmark run), never in a module global.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Literal

import duckdb
import networkit as nk
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from zhijing.errors import ZhijingError
from zhijing.model import places

log = logging.getLogger(__name__)
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0
UNREACHED = np.finfo(float).max / 2  # networkit's distance to a node it did not reach is the largest float
FALLBACK_KMH = 30.0
WALK_KMH = 5.0  # a foot patrol (步巡) walks
Mode = Literal["drive", "walk"]  # a segment without a usable speed limit: driven as a side street
ONEWAY = ("1", "true", "yes", "t", "y")
NODE_NEEDS = ("node_id", "lon", "lat")
ROAD_NEEDS = ("from_node", "to_node")  # length_m, speed_kmh, road_class, oneway: used when there


def metres(lon0, lat0, lon1, lat1) -> np.ndarray:
    """Straight-line metres (equirectangular: exact enough within a city)."""
    k = np.cos(np.radians((np.asarray(lat0, dtype=float) + np.asarray(lat1, dtype=float)) / 2)) * M_PER_DEG_LON_EQ
    return np.hypot((np.asarray(lon1, dtype=float) - lon0) * k, (np.asarray(lat1, dtype=float) - lat0) * M_PER_DEG_LAT)


@dataclass(frozen=True)
class Streets:
    """One version of the street graph. Nodes are dense indices 0..n-1; ``ids`` maps back to
    the road node ids of the lake (as text)."""

    version: tuple[str, ...]
    graph: nk.Graph  # directed, weight = seconds
    reverse: nk.Graph  # the same edges turned round: one Dijkstra from a target gives every node's time to it
    ids: np.ndarray  # index -> road node id (str)
    index: dict[str, int]  # road node id (str) -> index
    lon: np.ndarray
    lat: np.ndarray
    tree: cKDTree  # over (x, y) metres, for the nearest node
    lat0: float
    edges: dict[tuple[int, int], tuple[float, float, str]]  # (u, v) -> (length_m, speed_kmh, road_class)
    walk: nk.Graph  # undirected, weight = metres: a foot patrol takes the shortest way, one-way streets both ways

    def _search(self, target: int, mode: Mode, paths: bool) -> nk.distance.Dijkstra:
        d = nk.distance.Dijkstra(self.walk if mode == "walk" else self.reverse, target, storePaths=paths)
        d.run()
        return d

    def __len__(self) -> int:
        return len(self.ids)

    def _xy(self, lon, lat) -> np.ndarray:
        k = math.cos(math.radians(self.lat0)) * M_PER_DEG_LON_EQ
        return np.c_[np.asarray(lon, dtype=float) * k, np.asarray(lat, dtype=float) * M_PER_DEG_LAT]

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        """(index of the nearest node, its distance in metres)."""
        d, i = self.tree.query(self._xy([lon], [lat])[0])
        return int(i), float(d)

    def node(self, node_id) -> int | None:
        """The index of a road node id (as the lake or a unit row spells it), None if unknown."""
        if node_id is None:
            return None
        key = str(node_id)
        if key not in self.index and key.endswith(".0"):  # a float-typed id read back from a store
            key = key[:-2]
        return self.index.get(key)

    def routes_to(self, target: int, sources: list[int], mode: Mode = "drive") -> dict[int, list[int]]:
        """Fastest route (node indices, source first) from each source to ``target``; a source
        that cannot reach it is absent. One Dijkstra, as ``seconds_to``."""
        d = self._search(target, mode, paths=True)
        out = {}
        for s in set(sources):
            if s == target:
                out[s] = [s]
                continue
            p = d.getPath(s)
            if p:
                out[s] = list(reversed(p))
        return out

    def seconds_to(self, target: int, sources: list[int], mode: Mode = "drive") -> dict[int, float]:
        """Seconds from each source that can reach ``target`` — driving at the streets' speeds,
        or walking at ``WALK_KMH``: one Dijkstra from the target (over the reverse graph when
        driving), whatever the number of sources."""
        d = self._search(target, mode, paths=False)
        per_metre = 3.6 / WALK_KMH if mode == "walk" else 1.0
        out = {}
        for v in set(sources):
            t = d.distance(v)
            if t < UNREACHED:
                out[v] = t * per_metre
        return out

    def route(self, source: int, target: int, mode: Mode = "drive") -> list[int] | None:
        """The fastest route from ``source`` to ``target`` (node indices), None if unreachable."""
        return self.routes_to(target, [source], mode).get(source)

    def leg(self, u: int, v: int) -> tuple[float, float, str]:
        """(length_m, speed_kmh, road_class) of the street from ``u`` to ``v``."""
        return self.edges[(u, v)]

    def metres(self, u: int, v: int) -> float:
        """Length of the shortest street between neighbours ``u`` and ``v`` (either way)."""
        return self.walk.weight(u, v)


def _columns(con, source: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def segments(settings) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The roles' streets cleaned for routing, the one reading networkit and pgRouting share:
    (nodes: id, lon, lat — index = dense node number; edges: u, v, length_m, speed_kmh,
    road_class, both, seconds). None when either role is absent or has no node; a
    ``ZhijingError`` naming what is lacking when a role lacks a column routing cannot do
    without. A segment whose ends are unknown nodes is left out; one without a length is
    measured between its ends; one without a positive speed is driven at ``FALLBACK_KMH``."""
    road, node = places.source(settings, "road"), places.source(settings, "road_node")
    if not road or not node:
        return None
    con = duckdb.connect()
    try:
        node_cols, road_cols = _columns(con, node), _columns(con, road)
        lacking = [f"road_node.{c}" for c in NODE_NEEDS if c not in node_cols] + [f"road.{c}" for c in ROAD_NEEDS if c not in road_cols]
        if lacking:
            raise ZhijingError(f"the street graph needs column(s) {', '.join(lacking)} in the geography roles")

        def optional(col: str, sql: str, default: str = "NULL") -> str:
            return sql if col in road_cols else default

        nodes = con.execute(f"""SELECT CAST(node_id AS VARCHAR) AS id, any_value(TRY_CAST(lon AS DOUBLE)) AS lon,
                                       any_value(TRY_CAST(lat AS DOUBLE)) AS lat
                                FROM {node} WHERE node_id IS NOT NULL AND TRY_CAST(lon AS DOUBLE) IS NOT NULL
                                  AND TRY_CAST(lat AS DOUBLE) IS NOT NULL GROUP BY 1 ORDER BY 1""").df()  # fmt: skip
        segs = con.execute(f"""SELECT CAST(from_node AS VARCHAR) AS a, CAST(to_node AS VARCHAR) AS b,
                                      {optional("length_m", "TRY_CAST(length_m AS DOUBLE)")} AS length_m,
                                      {optional("speed_kmh", "TRY_CAST(speed_kmh AS DOUBLE)")} AS speed_kmh,
                                      {optional("road_class", "coalesce(CAST(road_class AS VARCHAR), '')", "''")} AS road_class,
                                      {optional("oneway", "lower(CAST(oneway AS VARCHAR))")} AS oneway
                               FROM {road} WHERE from_node IS NOT NULL AND to_node IS NOT NULL""").df()  # fmt: skip
    finally:
        con.close()
    if nodes.empty:
        return None
    index = pd.Series(np.arange(len(nodes)), index=nodes.id)
    segs = segs.assign(u=segs.a.map(index), v=segs.b.map(index)).dropna(subset=["u", "v"])
    segs = segs[segs.u != segs.v]
    u, v = segs.u.to_numpy(dtype=np.int64), segs.v.to_numpy(dtype=np.int64)
    lon, lat = nodes.lon.to_numpy(dtype=float), nodes.lat.to_numpy(dtype=float)
    length = segs.length_m.to_numpy(dtype=float)
    bad = ~np.isfinite(length) | (length < 0)
    length[bad] = metres(lon[u[bad]], lat[u[bad]], lon[v[bad]], lat[v[bad]])
    speed = segs.speed_kmh.to_numpy(dtype=float)
    speed[~np.isfinite(speed) | (speed <= 0)] = FALLBACK_KMH
    edges = pd.DataFrame({"u": u, "v": v, "length_m": length, "speed_kmh": speed, "road_class": segs.road_class.to_numpy(dtype=object),
                          "both": ~segs.oneway.isin(ONEWAY).to_numpy(), "seconds": length / (speed / 3.6)})  # fmt: skip
    return nodes, edges


def build(settings, version: tuple[str, ...] = ()) -> Streets | None:
    """The street graph of the lake's ``road`` / ``road_node`` roles; None when either is absent."""
    read = segments(settings)
    if read is None:
        return None
    nodes, e = read
    legs: dict[tuple[int, int], tuple[float, float, str]] = {}
    best: dict[tuple[int, int], float] = {}

    def add(a: int, b: int, row) -> None:  # parallel streets: the faster one
        if row.seconds < best.get((a, b), math.inf):
            best[(a, b)] = row.seconds
            legs[(a, b)] = (float(row.length_m), float(row.speed_kmh), str(row.road_class))

    for row in e.itertuples(index=False):
        add(row.u, row.v, row)
        if row.both:
            add(row.v, row.u, row)
    n = len(nodes)
    graph, reverse = nk.Graph(n, weighted=True, directed=True), nk.Graph(n, weighted=True, directed=True)
    for (a, b), w in best.items():
        graph.addEdge(a, b, w)
        reverse.addEdge(b, a, w)
    walk = nk.Graph(n, weighted=True, directed=False)
    for (a, b), m in e.assign(a=np.minimum(e.u, e.v), b=np.maximum(e.u, e.v)).groupby(["a", "b"]).length_m.min().items():
        walk.addEdge(int(a), int(b), float(m))
    ids = nodes.id.to_numpy(dtype=object)
    lon, lat = nodes.lon.to_numpy(dtype=float), nodes.lat.to_numpy(dtype=float)
    lat0 = float(lat.mean())
    k = math.cos(math.radians(lat0)) * M_PER_DEG_LON_EQ
    return Streets(version, graph, reverse, ids, {key: i for i, key in enumerate(ids)}, lon, lat,
                   cKDTree(np.c_[lon * k, lat * M_PER_DEG_LAT]), lat0, legs, walk)  # fmt: skip


def version(settings) -> tuple[str, ...]:
    """The lake files the street graph is built from (their paths name the published version)."""
    return (*places.files(settings, "road"), "|", *places.files(settings, "road_node"))


class StreetCache:
    """The street graph of the current lake version, built on first use and rebuilt when the
    roles' files change. Thread-safe; one per app (``app.state``) or per run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streets: Streets | None = None
        self._key: tuple | None = None
        self._error: ZhijingError | None = None

    def get(self, settings) -> Streets | None:
        key = (str(settings.home), *version(settings))
        with self._lock:
            if key != self._key:
                try:
                    self._streets, self._error = build(settings, key), None
                except ZhijingError as exc:  # kept for this version: asked again, the same answer, no rebuild
                    log.warning("no street graph for dispatch: %s", exc)
                    self._streets, self._error = None, exc
                self._key = key
            if self._error is not None:
                raise self._error
            return self._streets
