"""The relationship graph in memory and its algorithms.

k-hop expansion is a breadth-first walk over compressed adjacency arrays (numpy), with
the edge filters (type, time) applied per hop and at most ``limit`` edges taken per node
and hop, heaviest first: a node with millions of edges costs one slice of its adjacency,
never a Python object per edge, and the answer says which nodes were cut and how many
edges they have, so the caller can page on. Shortest paths, communities and brokers
(betweenness) are networkit's (DESIGN.md §9: the fastest of the libraries measured).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import networkit as nk
import numpy as np
import pandas as pd

from zhijing.derived.graph.edges import TYPES
from zhijing.localtime import shown

NO_TIME_LO, NO_TIME_HI = np.iinfo(np.int64).max, np.iinfo(np.int64).min


@dataclass
class Subgraph:
    nodes: list[int]  # node positions, seeds first
    edges: list[int]  # edge positions
    hop: dict[int, int]  # node position -> hops from the seeds
    cut: dict[int, int] = field(default_factory=dict)  # node position -> its edges (when not all were taken)
    cut_types: dict[int, dict[str, int]] = field(default_factory=dict)  # node position -> its edges by type (when cut)


class Graph:
    """Edges as arrays: node ids (sorted), per-edge endpoints, type, time span (UTC epoch
    seconds, -1 when timeless) and weight, and an adjacency sorted by weight (heaviest first)
    in both directions. About 40 bytes per edge besides the node ids."""

    def __init__(self, ids: np.ndarray, src: np.ndarray, dst: np.ndarray, types: np.ndarray,
                 first: np.ndarray, last: np.ndarray, weight: np.ndarray):  # fmt: skip
        self.ids = ids
        m = len(src)
        self.src, self.dst = src.astype(np.int64), dst.astype(np.int64)
        self.type = types.astype(np.int8)
        self.timeless = first < 0
        self.first = np.where(first < 0, NO_TIME_LO, first)  # timeless edges (a household) pass every window
        self.last = np.where(last < 0, NO_TIME_HI, last)
        self.weight = weight.astype(np.int64)
        frm, to = np.r_[self.src, self.dst], np.r_[self.dst, self.src]
        eid = np.r_[np.arange(m), np.arange(m)]
        order = np.lexsort((-self.weight[eid], frm))
        self.adj_to, self.adj_edge = to[order], eid[order]
        self.indptr = np.r_[0, np.cumsum(np.bincount(frm, minlength=len(ids)))]
        self._nk: OrderedDict[tuple, nk.Graph] = OrderedDict()

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, node: str) -> int | None:
        i = int(np.searchsorted(self.ids, node))
        return i if i < len(self.ids) and self.ids[i] == node else None

    def edge_id(self, edge: int) -> str:
        """The edge's id in ``graph_edges`` (the same hash, so it is not held in memory)."""
        key = f"{self.ids[self.src[edge]]}|{self.ids[self.dst[edge]]}|{self.type_name(edge)}"
        return hashlib.md5(key.encode()).hexdigest()[:16]

    def type_name(self, edge: int) -> str:
        return TYPES[int(self.type[edge])]

    def when(self, seconds: int) -> str | None:
        """An edge time in the deployment's zone (None for timeless edges)."""
        if seconds in (NO_TIME_LO, NO_TIME_HI):
            return None
        return shown(pd.Timestamp(int(seconds), unit="s", tz="UTC"))

    def degree(self, pos: int) -> int:
        return int(self.indptr[pos + 1] - self.indptr[pos])

    def allowed(self, edges: np.ndarray, types: tuple[str, ...] | None, since: int | None, until: int | None) -> np.ndarray:
        """Mask of ``edges`` that pass the filters (a time window keeps edges whose span
        overlaps it, and timeless ones)."""
        ok = np.ones(len(edges), bool)
        if types:
            ok &= np.isin(self.type[edges], [TYPES.index(t) for t in types])
        if since is not None:
            ok &= self.timeless[edges] | (self.last[edges] >= since)
        if until is not None:
            ok &= self.timeless[edges] | (self.first[edges] <= until)
        return ok

    def expand(self, seeds: list[int], hops: int = 2, types: tuple[str, ...] | None = None, since: int | None = None,
               until: int | None = None, limit: int = 50, offset: int = 0, max_nodes: int = 2000) -> Subgraph:  # fmt: skip
        """The ≤ ``hops`` neighbourhood of ``seeds``; per node and hop at most ``limit``
        passing edges, heaviest first (the seeds' lists start at ``offset``)."""
        hop = {s: 0 for s in seeds}
        nodes, taken, cut, cut_types = list(seeds), set(), {}, {}
        frontier = list(seeds)
        for h in range(1, hops + 1):
            nxt = []
            for u in frontier:
                lo, hi = self.indptr[u], self.indptr[u + 1]
                e, v = self.adj_edge[lo:hi], self.adj_to[lo:hi]
                ok = self.allowed(e, types, since, until)
                e, v = e[ok], v[ok]
                start = offset if h == 1 else 0
                if start + limit < len(e) or start:
                    cut[u] = len(e)
                    cut_types[u] = self.count_types(e)
                for edge, w in zip(e[start : start + limit].tolist(), v[start : start + limit].tolist(), strict=True):
                    if w not in hop:
                        if len(nodes) >= max_nodes:
                            cut[u] = len(e)
                            cut_types[u] = self.count_types(e)
                            continue
                        hop[w] = h
                        nodes.append(w)
                        nxt.append(w)
                    taken.add(edge)
            frontier = nxt
        return Subgraph(nodes, sorted(taken), hop, cut, cut_types)

    def count_types(self, edges: np.ndarray) -> dict[str, int]:
        """How many of ``edges`` are of each type (what a "+N more" holds)."""
        found = np.bincount(self.type[edges].astype(np.int64), minlength=len(TYPES))
        return {TYPES[i]: int(found[i]) for i in np.flatnonzero(found)}

    def _networkit(self, types: tuple[str, ...] | None, since: int | None, until: int | None) -> tuple[nk.Graph, np.ndarray]:
        key = (types, since, until)
        if key not in self._nk:
            keep = np.flatnonzero(self.allowed(np.arange(len(self.src)), types, since, until))
            g = nk.Graph(len(self.ids), weighted=False, directed=False)
            if len(keep):
                g.addEdges((self.src[keep], self.dst[keep]))
            self._nk[key] = (g, keep)
            while len(self._nk) > 4:
                self._nk.popitem(last=False)
        return self._nk[key]

    def path(self, a: int, b: int, types: tuple[str, ...] | None = None, since: int | None = None,
             until: int | None = None) -> tuple[list[int], list[int]] | None:  # fmt: skip
        """The fewest-hop path from ``a`` to ``b`` (nodes, edges), or None."""
        if a == b:
            return [a], []
        g, _ = self._networkit(types, since, until)
        bfs = nk.distance.BidirectionalBFS(g, a, b)
        bfs.run()
        if bfs.getDistance() > len(self.ids):
            return None
        nodes = [a, *bfs.getPath(), b]
        edges = [self._best_edge(u, v, types, since, until) for u, v in zip(nodes[:-1], nodes[1:], strict=True)]
        return nodes, edges

    def _best_edge(self, u: int, v: int, types, since, until) -> int:
        lo, hi = self.indptr[u], self.indptr[u + 1]
        e = self.adj_edge[lo:hi]
        ok = (self.adj_to[lo:hi] == v) & self.allowed(e, types, since, until)
        return int(e[ok][0])  # heaviest first

    def analyse(self, sub: Subgraph) -> tuple[dict[int, int], dict[int, float]]:
        """Communities (networkit PLM, Louvain with refinement) and betweenness of the
        nodes of a subgraph — who bridges the groups (brokers)."""
        local = {n: i for i, n in enumerate(sub.nodes)}
        g = nk.Graph(len(sub.nodes), weighted=True, directed=False)
        for e in sub.edges:
            u, v = local[int(self.src[e])], local[int(self.dst[e])]
            if u != v and not g.hasEdge(u, v):
                g.addEdge(u, v, float(self.weight[e]))
        if g.numberOfEdges() == 0:
            return {n: i for i, n in enumerate(sub.nodes)}, {n: 0.0 for n in sub.nodes}
        nk.engineering.setSeed(7, False)
        part = nk.community.PLM(g, refine=True).run().getPartition()
        bc = nk.centrality.Betweenness(g, normalized=True).run().scores()
        return {n: int(part.subsetOf(i)) for n, i in local.items()}, {n: float(bc[i]) for n, i in local.items()}
