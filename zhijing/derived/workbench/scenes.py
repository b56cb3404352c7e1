"""Crime scenes (现场) for collision: the model's events that name an incident or a case (a
110 call, an offence — whatever datasets map to them, DESIGN §10) and have a place, one scene
per incident or case, in the map's view — so an analyst turns a scene into a space-time
window with a click. Each scene carries the checkpoints nearest it (周边卡口): a crew that
drives to a scene passes them, however far the city's checkpoints are apart."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from zhijing.derived.workbench.presence import cursor
from zhijing.errors import ZhijingError
from zhijing.localtime import shown
from zhijing.model import places, read
from zhijing.model import types as model_types

SCENE_KINDS = ("incident", "case")  # the entity kinds a scene is one of
MAX_SCENES = 2000
NEAR_CHECKPOINTS = 2
M_PER_DEG = 111_320.0


def scene_types(settings) -> list[tuple[str, str, str]]:
    """(event type, role naming the incident or case, its kind) of every placed, timed type;
    types with fewer roles first, so a case is its offence row before a person's role in it."""
    model = model_types.load(settings)
    found = [(len(ev.roles), name, role, kind) for name, ev in model.events.items() if ev.place != "none" and ev.time != "none"
             for role, kind in ev.roles.items() if kind in SCENE_KINDS]  # fmt: skip
    return [(name, role, kind) for _, name, role, kind in sorted(found)]


def _union(settings) -> str | None:
    model = model_types.load(settings)
    parts = []
    for rank, (name, role, kind) in enumerate(scene_types(settings)):
        src = read.source(settings, name)
        if src is None:
            continue
        category = read.q("category") if "category" in model.events[name].properties else "NULL"
        parts.append(f"SELECT {rank} AS rank, '{name}' AS type, '{kind}' AS kind, CAST({read.q(role)} AS VARCHAR) AS id, dataset, "
                     f"record_id, ts, lon::DOUBLE AS lon, lat::DOUBLE AS lat, place_name, CAST({category} AS VARCHAR) AS category "
                     f"FROM {src} WHERE placed AND ts IS NOT NULL AND lon IS NOT NULL AND lat IS NOT NULL AND {read.q(role)} IS NOT NULL")  # fmt: skip
    if not parts:
        return None
    return (f"(SELECT * EXCLUDE (rank) FROM ({' UNION ALL BY NAME '.join(parts)}) "
            "QUALIFY row_number() OVER (PARTITION BY kind, id ORDER BY rank, ts) = 1)")


def case_scene(settings, case_id: str) -> dict | None:
    """The scene of one case (or incident) by its number, or None."""
    src = _union(settings)
    if src is None or not case_id:
        return None
    row = cursor().execute(f"SELECT * FROM {src} WHERE id = $id LIMIT 1", {"id": case_id}).df()
    return _rows(settings, row)[0] if len(row) else None


def bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in degrees, or None."""
    if not text:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise ZhijingError("bbox must be west,south,east,north in degrees") from None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ZhijingError("bbox must be west,south,east,north in degrees")
    return x0, y0, x1, y1


def scenes(settings, box: tuple[float, float, float, float] | None = None, t0: datetime | None = None,
           t1: datetime | None = None, category: str | None = None, limit: int = 500) -> dict:  # fmt: skip
    """``{"scenes", "total", "categories"}``: the scenes in the box and time range (newest
    first, at most ``limit``), of ``category`` when given; ``categories`` counts every
    category in the view, so the officer sees what a filter leaves out."""
    src = _union(settings)
    out: dict = {"scenes": [], "total": 0, "categories": {}}
    if src is None:
        return out
    cond, params = ["true"], {}
    if box:
        cond.append("lon BETWEEN $x0 AND $x1 AND lat BETWEEN $y0 AND $y1")
        params.update(x0=box[0], y0=box[1], x1=box[2], y1=box[3])
    if t0:
        cond.append("ts >= $t0")
        params["t0"] = t0
    if t1:
        cond.append("ts <= $t1")
        params["t1"] = t1
    con = cursor()
    con.execute(f"CREATE OR REPLACE TEMP TABLE scene_view AS SELECT * FROM {src} WHERE {' AND '.join(cond)}", params)
    out["categories"] = dict(con.execute("SELECT coalesce(category, '') AS c, count(*) FROM scene_view GROUP BY 1 ORDER BY 2 DESC, 1").fetchall())
    where, picked = ("WHERE category = $category", {"category": category}) if category else ("", {})
    out["total"] = int(con.execute(f"SELECT count(*) FROM scene_view {where}", picked).fetchone()[0])
    out["scenes"] = _rows(settings, con.execute(f"SELECT * FROM scene_view {where} ORDER BY ts DESC, id LIMIT {max(1, min(int(limit), MAX_SCENES))}",
                                                picked).df())  # fmt: skip
    return out


def _rows(settings, df) -> list[dict]:
    near = nearest_checkpoints(settings, df.lon.to_numpy(float), df.lat.to_numpy(float)) if len(df) else []
    return [{"type": r.type, "kind": r.kind, "id": r.id, "dataset": r.dataset, "record_id": r.record_id, "ts": shown(r.ts),
             "lon": round(float(r.lon), 6), "lat": round(float(r.lat), 6), "place_name": r.place_name, "category": r.category,
             "near_checkpoints": cps} for r, cps in zip(df.itertuples(), near, strict=True)]  # fmt: skip


def nearest_checkpoints(settings, lon: np.ndarray, lat: np.ndarray, n: int = NEAR_CHECKPOINTS) -> list[list[dict]]:
    """The ``n`` checkpoints nearest each point, with their distance in metres."""
    src = places.gazetteer(settings, "checkpoint")
    cps = cursor().execute(f"SELECT code, name, lon, lat FROM {src} WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY code").df() if src else None
    if cps is None or cps.empty:
        return [[] for _ in lon]
    cx, cy = cps.lon.to_numpy(float), cps.lat.to_numpy(float)
    out = []
    for x, y in zip(lon, lat, strict=True):
        d = np.hypot((cx - x) * M_PER_DEG * np.cos(np.radians(y)), (cy - y) * M_PER_DEG)
        out.append([{"code": cps.code.iat[i], "name": cps.name.iat[i], "lon": round(float(cx[i]), 6), "lat": round(float(cy[i]), 6),
                     "distance_m": int(d[i])} for i in np.argsort(d, kind="stable")[:n]])  # fmt: skip
    return out
