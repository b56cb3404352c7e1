"""Crime hot spots (治安防控): a kernel-density baseline and a self-exciting space-time
point process (Hawkes / ETAS, Mohler et al. 2011) fitted by EM on past incidents, scored on
held-out days by PAI and PEI at a share of the city's area, and a Knox near-repeat test.

Cells are 200 m squares whose centres lie inside a district outline (land, not the sea or
the bounding box); PAI and PEI shares are of those cells. Forecasts are counts per cell,
never persons.

Background: μ(x) = Σ_bg K_h(x − x_i) / T + β D(x), where D is the density of dwellings (the
standard addresses, 一标三实): a burglary needs a home, and a first burglary far from any
earlier one is still at a home. β (burglaries a day not near earlier ones) is fitted by
the same EM. Triggering: θ ω e^{−ω Δt} N(Δx; σ²)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree
from shapely import contains_xy
from shapely.geometry import shape

from zhijing.config import Settings
from zhijing.derived import computed
from zhijing.derived.risk import data
from zhijing.localtime import zone

NAME, VERSION = "hotspots", "1"
CELL_M, BG_BANDWIDTH_M, KDE_BANDWIDTH_M = 200.0, 400.0, 300.0
M_PER_DEG = 111_000.0


@dataclass
class Grid:
    lon0: float
    lat0: float
    cos: float
    cells: np.ndarray  # (n, 2) centres in metres
    lonlat: np.ndarray  # (n, 2)

    def xy(self, lon, lat) -> np.ndarray:
        return np.column_stack(
            [(np.asarray(lon) - self.lon0) * M_PER_DEG * self.cos, (np.asarray(lat) - self.lat0) * M_PER_DEG]
        )

    def index(self, xy: np.ndarray) -> np.ndarray:
        """Cell number of each point (−1 outside the city): the cells' integer keys are sorted
        (``grid`` keeps them unique and ordered), so a point's key is found by bisection."""
        keys = _key(np.floor(self.cells / CELL_M).astype(np.int64))
        want = _key(np.floor(np.asarray(xy, float).reshape(-1, 2) / CELL_M).astype(np.int64))
        if not len(keys):
            return np.full(len(want), -1)
        at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
        return np.where(keys[at] == want, at, -1)


def _key(ij: np.ndarray) -> np.ndarray:
    """One sortable integer per (column, row) of cells, in the row-major order ``np.unique`` gives."""
    return (ij[:, 0] + 2**20) * 2**21 + (ij[:, 1] + 2**20)


def grid(settings: Settings) -> Grid:
    """200 m cells whose centres fall inside a district."""
    d = data.query(settings, "SELECT geometry FROM d", d="places/district")
    polys = [shape(json.loads(g)) for g in d.geometry]
    b = np.array([p.bounds for p in polys])
    lon0, lat0 = b[:, 0].min(), b[:, 1].min()
    g = Grid(lon0, lat0, float(np.cos(np.radians(b[:, [1, 3]].mean()))), np.empty((0, 2)), np.empty((0, 2)))
    keys = []
    for p in polys:
        x0, y0 = g.xy([p.bounds[0]], [p.bounds[1]])[0]
        x1, y1 = g.xy([p.bounds[2]], [p.bounds[3]])[0]
        ii, jj = np.meshgrid(np.arange(np.floor(x0 / CELL_M), np.ceil(x1 / CELL_M)),
                             np.arange(np.floor(y0 / CELL_M), np.ceil(y1 / CELL_M)))  # fmt: skip
        ij = np.column_stack([ii.ravel(), jj.ravel()]).astype(np.int64)
        lon = lon0 + (ij[:, 0] + 0.5) * CELL_M / (M_PER_DEG * g.cos)
        lat = lat0 + (ij[:, 1] + 0.5) * CELL_M / M_PER_DEG
        keys.append(_key(ij[contains_xy(p, lon, lat)]))
    k = np.unique(np.concatenate(keys))  # sorted: ``Grid.index`` bisects these keys
    g.cells = (np.column_stack([k // 2**21 - 2**20, k % 2**21 - 2**20]) + 0.5) * CELL_M
    g.lonlat = np.column_stack([lon0 + g.cells[:, 0] / (M_PER_DEG * g.cos), lat0 + g.cells[:, 1] / M_PER_DEG])
    return g


def dwellings(settings: Settings, g: Grid) -> np.ndarray:
    """D per cell: the share of the city's standard addresses in it, per m² (zero everywhere
    when the lake has no address layer — the background is then the events' kernel alone)."""
    a = data.query(settings, """SELECT TRY_CAST(lon AS DOUBLE) AS lon, TRY_CAST(lat AS DOUBLE) AS lat FROM a
        WHERE TRY_CAST(lon AS DOUBLE) IS NOT NULL AND TRY_CAST(lat AS DOUBLE) IS NOT NULL""", a="places/address")  # fmt: skip
    k = g.index(g.xy(a.lon, a.lat)) if len(a) else np.empty(0, int)
    k = k[k >= 0]
    return np.bincount(k, minlength=len(g.cells)) / max(len(k), 1) / (CELL_M * CELL_M)


def incidents(settings: Settings, kind: str = "入室盗窃") -> pd.DataFrame:
    """Offences (cases) of one category with place and time, oldest first."""
    return data.query(settings, f"""
        SELECT ts, lon, lat FROM c WHERE category = '{kind}' AND lon IS NOT NULL AND lat IS NOT NULL
        AND ts IS NOT NULL ORDER BY ts""", c="offence")  # fmt: skip


def _days(ts: pd.Series) -> np.ndarray:
    return (
        (pd.to_datetime(ts, utc=True) - pd.Timestamp("2025-01-01", tz="UTC")).dt.total_seconds() / 86400
    ).to_numpy()


def _gauss(d2: np.ndarray, h: float) -> np.ndarray:
    return np.exp(-d2 / (2 * h * h)) / (2 * np.pi * h * h)


KERNEL_REACH = 5.0  # a Gaussian beyond 5 bandwidths is below e^{-12.5} of its peak: left out


def _kernel_sum(pts: np.ndarray, xy: np.ndarray, w: np.ndarray, h: float) -> np.ndarray:
    """Σ_j w_j K_h(pts_i − xy_j) for every point, over the pairs within ``KERNEL_REACH`` × h
    only (a k-d tree finds them): a city's cells × a year's events stays sparse."""
    return _kernel(pts, xy, h) @ np.asarray(w, float)


def _kernel(pts: np.ndarray, xy: np.ndarray, h: float) -> sparse.csr_matrix:
    """K_h(pts_i − xy_j) as a sparse points × events matrix, zero beyond ``KERNEL_REACH`` × h."""
    v, rows, cols = [np.empty(0)], [np.empty(0, int)], [np.empty(0, int)]
    if len(pts) and len(xy):
        tree = cKDTree(pts)
        for s in range(0, len(xy), 2000):  # about 300 cells of 200 m lie within reach of an event: bounded memory
            near = cKDTree(xy[s : s + 2000]).sparse_distance_matrix(tree, KERNEL_REACH * h, output_type="ndarray")
            v.append(_gauss(near["v"] ** 2, h))
            rows.append(near["j"])
            cols.append(s + near["i"])
    return sparse.csr_matrix((np.concatenate(v), (np.concatenate(rows), np.concatenate(cols))), shape=(len(pts), len(xy)))


@dataclass
class Hawkes:
    theta: float = 0.3  # branching ratio
    omega: float = 0.2  # decay per day (mean delay 1/ω days)
    sigma: float = 200.0  # spatial triggering s.d. in metres
    beta: float = 0.0  # background events per day spread as the dwellings are
    bg_xy: np.ndarray | None = None
    bg_w: np.ndarray | None = None
    span: float = 1.0

    def background(self, pts: np.ndarray, dwell: np.ndarray | None = None) -> np.ndarray:
        """μ(x): events per day per m² (``dwell``: D at each point)."""
        out = np.zeros(len(pts)) if dwell is None else self.beta * np.asarray(dwell, float)
        return out + _kernel_sum(pts, self.bg_xy, self.bg_w, BG_BANDWIDTH_M) / self.span

    def triggered(
        self, pts: np.ndarray, xy: np.ndarray, t: np.ndarray, at: float, known: float
    ) -> np.ndarray:
        """Σ θ ω e^{−ω(at − t_i)} g_σ(x − x_i) over events known by ``known`` and still active."""
        live = (t < known) & (at - t < 10 / self.omega)
        if not live.any():
            return np.zeros(len(pts))
        w = self.theta * self.omega * np.exp(-self.omega * (at - t[live]))
        return _kernel_sum(pts, xy[live], w, self.sigma)


def _pairs(xy: np.ndarray, t: np.ndarray, max_days: float, max_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) with t_j < t_i < t_j + max_days and |x_i − x_j| < max_m, without an n × n mask."""
    close = cKDTree(xy).query_pairs(max_m, output_type="ndarray")
    if not len(close):
        return np.empty(0, int), np.empty(0, int)
    a, b = close[:, 0], close[:, 1]
    later = t[a] > t[b]
    i, j = np.where(later, a, b), np.where(later, b, a)
    keep = (t[i] > t[j]) & (t[i] - t[j] < max_days)
    return i[keep], j[keep]


def fit(
    xy: np.ndarray,
    t: np.ndarray,
    dwell: np.ndarray | None = None,
    iterations: int = 30,
    max_days: float = 60,
    max_m: float = 1500,
) -> Hawkes:
    """EM (stochastic declustering): P(i triggered by j) for close pairs and P(i from the
    dwellings' background) given D at each event (``dwell``), then the branching ratio, decay,
    spread and β from those probabilities. Sparse throughout: pairs and the background
    kernel come from a k-d tree, so a year of a city's incidents fits."""
    m = Hawkes(span=max(float(t.max() - t.min()), 1.0) if len(t) else 1.0)
    n = len(t)
    if n < 2:
        m.bg_xy, m.bg_w = xy, np.ones(n)
        return m
    i, j = _pairs(xy, t, max_days, max_m)
    d2 = ((xy[i] - xy[j]) ** 2).sum(1)
    dt = t[i] - t[j]
    dwell = np.zeros(n) if dwell is None else np.asarray(dwell, float)
    bg = cKDTree(xy).sparse_distance_matrix(cKDTree(xy), 5 * BG_BANDWIDTH_M, output_type="ndarray")
    # an event's own kernel would explain it perfectly and starve the dwellings' term: it
    # counts only for an event where no dwelling is (else nothing might explain a lone one)
    bg = bg[(bg["i"] != bg["j"]) | (dwell[bg["i"]] == 0)]
    kernel = sparse.coo_matrix(
        (_gauss(bg["v"] ** 2, BG_BANDWIDTH_M), (bg["i"], bg["j"])), shape=(n, n)
    ).tocsr()
    p_bg = np.ones(n)
    m.beta = 0.5 * n / m.span if dwell.any() else 0.0
    for _ in range(iterations):
        mu = kernel @ p_bg / m.span
        mu_d = m.beta * dwell
        trig = m.theta * m.omega * np.exp(-m.omega * dt) * _gauss(d2, m.sigma)
        total = mu + mu_d + np.bincount(i, trig, n)
        p = trig / total[i]
        p_bg = mu / total
        m.beta = float((mu_d / total).sum() / m.span)
        s = p.sum()
        if s <= 0:
            break
        m.theta = float(min(s / n, 0.95))
        m.omega = float(s / (p * dt).sum())
        m.sigma = float(np.sqrt((p * d2).sum() / (2 * s)))
    m.bg_xy, m.bg_w = xy, p_bg
    return m


def _at(per_cell: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """A per-cell value at each point's cell (0 for a point outside every cell)."""
    return np.where(cell >= 0, per_cell[np.maximum(cell, 0)], 0.0)


def kde(pts: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return _kernel_sum(pts, xy, np.ones(len(xy)), KDE_BANDWIDTH_M)


def evaluate(settings: Settings, test_days: int = 56, shares=(0.01, 0.05)) -> dict:
    """Fit on everything before the last ``test_days`` days; forecast each held-out day from
    the events before it; PAI and PEI of KDE and the self-exciting model at each share."""
    ev = incidents(settings)
    if len(ev) < 10:
        return {"events": len(ev), "error": "too few incidents to fit"}
    g = grid(settings)
    xy, t = g.xy(ev.lon, ev.lat), _days(ev.ts)
    cut = np.floor(t.max()) - test_days + 1
    cell = g.index(xy)
    dwell = dwellings(settings, g)
    model = fit(xy[t < cut], t[t < cut], _at(dwell, cell[t < cut]))
    n = len(g.cells)
    base = model.background(g.cells, dwell)
    k_kde, k_trig = _kernel(g.cells, xy, KDE_BANDWIDTH_M), _kernel(g.cells, xy, model.sigma)  # cells × events, once
    hits = {(name, a): 0 for name in ("kde", "hawkes") for a in shares}
    best = {a: 0 for a in shares}
    total = 0
    for day in np.arange(cut, np.floor(t.max()) + 1):
        today = (t >= day) & (t < day + 1)
        if not today.any():
            continue
        past = t < day  # only what was known the evening before
        decay = np.where(past, model.theta * model.omega * np.exp(-model.omega * np.maximum(day + 0.5 - t, 0)), 0.0)
        scores = {"kde": k_kde @ past.astype(float), "hawkes": base + k_trig @ decay}
        counts = np.bincount(cell[today & (cell >= 0)], minlength=n)
        total += int(today.sum())
        for a in shares:
            k = max(1, int(round(a * n)))
            best[a] += int(np.sort(counts)[::-1][:k].sum())
            for name, s in scores.items():
                hits[(name, a)] += int(counts[np.argsort(-s, kind="stable")[:k]].sum())
    out = {"events": len(ev), "held_out_events": total, "cells": n, "cell_m": CELL_M, "test_days": test_days,
           "fit": {"branching": model.theta, "mean_delay_days": 1 / model.omega, "sigma_m": model.sigma,
                   "dwelling_per_day": model.beta}}  # fmt: skip
    for (name, a), h in hits.items():
        rate = h / total if total else 0.0
        out[f"{name}_pai_{a:g}"] = rate / a
        out[f"{name}_pei_{a:g}"] = h / best[a] if best[a] else 0.0
    return out


def knox(
    settings: Settings, close_m: float = 200, close_days: float = 7, permutations: int = 99, seed: int = 0
) -> dict:
    """Knox test: more pairs close in both space and time than times shuffled among places?"""
    ev = incidents(settings)
    if len(ev) < 3:
        return {"pairs": 0, "expected": 0.0, "ratio": float("nan"), "p_value": 1.0}
    xy, t = grid(settings).xy(ev.lon, ev.lat), _days(ev.ts)
    i, j = np.triu_indices(len(t), 1)
    near = ((xy[i] - xy[j]) ** 2).sum(1) < close_m**2
    i, j = i[near], j[near]

    def count(tt):
        return int((np.abs(tt[i] - tt[j]) < close_days).sum())

    observed = count(t)
    rng = np.random.default_rng(seed)
    sims = np.array([count(rng.permutation(t)) for _ in range(permutations)])
    return {"pairs": observed, "expected": float(sims.mean()), "ratio": observed / max(sims.mean(), 1e-9),
            "p_value": (1 + int((sims >= observed).sum())) / (permutations + 1)}  # fmt: skip


def _silent(done: float, step: str) -> None:
    pass


def surface(settings: Settings, as_of: pd.Timestamp, report: computed.Report = _silent) -> tuple[Grid, np.ndarray] | None:
    """Every cell's expected burglaries for the day after ``as_of`` (per cell), or None
    with too few incidents to fit; ``report`` hears the share done and the step."""
    report(0.05, "读取案件 offences")
    ev = incidents(settings)
    if len(ev) < 2:
        return None
    report(0.15, "网格 grid")
    g = grid(settings)
    at = _days(pd.Series([data.as_utc(as_of)]))[0]
    xy, t = g.xy(ev.lon, ev.lat), _days(ev.ts)
    past = t < at
    if past.sum() < 2:
        return None
    report(0.35, "住户密度 dwellings")
    dwell = dwellings(settings, g)
    report(0.5, "拟合 fit")
    model = fit(xy[past], t[past], _at(dwell, g.index(xy[past])))
    report(0.8, "强度 intensity")
    s = model.background(g.cells, dwell) + model.triggered(g.cells, xy[past], t[past], at + 0.5, at)
    return g, s * CELL_M * CELL_M


def _cell(g, s: np.ndarray, k: int) -> dict:
    return {
        "lon": round(float(g.lonlat[k, 0]), 6),
        "lat": round(float(g.lonlat[k, 1]), 6),
        "expected": float(s[k]),
    }


def forecast(settings: Settings, as_of: pd.Timestamp, share: float = 0.01, report: computed.Report = _silent) -> list[dict]:
    """Tomorrow's hot cells (patrol planning): the top ``share`` of cells by the fitted
    self-exciting intensity for the day after ``as_of`` — places and rates, no person."""
    found = surface(settings, as_of, report)
    if found is None:
        return []
    g, s = found
    top = np.argsort(-s)[: max(1, int(round(share * len(s))))]
    return [_cell(g, s, k) for k in top]


SOURCES = ("offence", "places/district", "places/address")  # what a forecast is computed from


def today() -> pd.Timestamp:
    """Today in the deployment's zone (naive, midnight): the default day of a forecast."""
    return pd.Timestamp.now(tz=zone()).tz_localize(None).normalize()


def forecast_key(settings: Settings, as_of: pd.Timestamp) -> str:
    """The forecast's key: the day, the model's version and the versions of its data."""
    return computed.key(NAME, VERSION, str(as_of.date()), *(data.version(settings, s) for s in SOURCES))


def cached_forecast(settings: Settings, as_of: pd.Timestamp, wait_s: float = 0.0) -> dict:
    """The forecast of ``forecast`` computed once per day and data version, in the background:
    ``{"state", "done", "step", "cells"}`` — the cells once the state is ``ok``, until then
    the share done (a request never waits the minute a large city's fit takes)."""
    k = forecast_key(settings, as_of)

    def make(out: Path, report: computed.Report) -> None:
        cells = forecast(settings, as_of, report=report)
        (out / "cells.json").write_text(json.dumps(cells), encoding="utf-8")

    state = computed.start(settings, NAME, k, make, wait_s)
    found = computed.ready(settings, NAME, k)
    cells = json.loads((found / "cells.json").read_text(encoding="utf-8")) if found else []
    return {**state, "cells": cells}


WARN_LIFT = 20.0  # a warning names a cell at least this many times the city's mean cell
WARN_MAX = 10  # and no more than this many cells a day (the patrol map shows them all)


def warn_cells(g, s: np.ndarray, lift: float = WARN_LIFT, most: int = WARN_MAX) -> list[dict]:
    """The cells worth a warning: the ``most`` hottest whose expected count is at least
    ``lift`` × the mean cell's (the hot-spot map layer keeps every top cell)."""
    top = np.argsort(-s, kind="stable")[:most]
    floor = lift * float(s.mean())
    return [{**_cell(g, s, k), "lift": round(float(s[k]) / float(s.mean()), 1)} for k in top if s[k] >= floor]


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    found = surface(settings, as_of)
    cells = warn_cells(*found) if found is not None else []
    return [{"subject_kind": "area", "subject": f"{c['lon']:.5f},{c['lat']:.5f}", "label": "明日入室盗窃热点",
             "score": c["expected"], "evidence": c} for c in cells]  # fmt: skip
