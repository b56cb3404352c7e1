"""Comparison (比对): two subjects' trajectories side by side, and where and when they
coincided — the same place (hotel stays overlapping, the same service, the same checkpoint)
or within ``radius_m`` of each other, within Δt.

The coincidence join is the companions' bucket equi-join on ⌊t/Δt⌋ + offset, so two
subjects with millions of points each are joined without a cross product.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from zhijing.derived.workbench.presence import cursor, source
from zhijing.derived.workbench.subjects import Subject
from zhijing.derived.workbench.trajectory import trajectory, where
from zhijing.localtime import shown
from zhijing.model import types as model_types

MAX_DT = 86400
MAX_RADIUS = 5000
SIDE = ("dataset", "record_id", "ts", "place_kind", "place_id", "place_name", "lon", "lat")


def overlap_types(settings) -> list[str]:
    """The model's interval types matched by overlap (a hotel night), not by Δt."""
    return [n for n, t in model_types.load(settings).events.items() if t.companion and t.companion.match == "overlap"]


def _coincidences(settings, con: duckdb.DuckDBPyConnection, src: str, a: Subject, b: Subject, start, end, dt: int, radius_m: float,
                  limit: int) -> list[dict]:  # fmt: skip
    pa, params_a = where(a, start, end)
    pb, params_b = where(b, start, end)
    con.execute(f"CREATE OR REPLACE TEMP TABLE ta AS SELECT * FROM {src} WHERE {pa}", params_a)
    con.execute(f"CREATE OR REPLACE TEMP TABLE tb AS SELECT * FROM {src} WHERE {pb}", params_b)
    pick = ", ".join([*(f"x.{c} AS a_{c}" for c in SIDE), *(f"y.{c} AS b_{c}" for c in SIDE)])
    df = con.execute(f"""
      WITH offs AS MATERIALIZED (SELECT unnest([-1, 0, 1]) AS off),
      xa AS (SELECT ta.*, CAST(floor(epoch(ts) / $dt) AS BIGINT) + off AS bk FROM ta, offs),
      yb AS (SELECT tb.*, CAST(floor(epoch(ts) / $dt) AS BIGINT) AS bk FROM tb),
      near AS (
        SELECT {pick}, CASE WHEN x.place_kind = y.place_kind AND x.place_id = y.place_id THEN 'same_place' ELSE 'nearby' END AS how,
               abs(epoch(x.ts) - epoch(y.ts)) AS dt_s
        FROM xa x JOIN yb y ON x.bk = y.bk
        WHERE abs(epoch(x.ts) - epoch(y.ts)) <= $dt AND x.mode NOT IN (SELECT unnest($overlap)) AND y.mode NOT IN (SELECT unnest($overlap))
          AND ((x.place_kind = y.place_kind AND x.place_id = y.place_id)
               OR (x.lon IS NOT NULL AND y.lon IS NOT NULL
                   AND sqrt(power((x.lon - y.lon) * 111320 * cos(radians(x.lat)), 2) + power((x.lat - y.lat) * 111320, 2)) <= $r))),
      stays AS (
        SELECT {pick}, 'same_stay' AS how, abs(epoch(x.ts) - epoch(y.ts)) AS dt_s
        FROM ta x JOIN tb y ON x.mode IN (SELECT unnest($overlap)) AND y.mode = x.mode AND x.place_id = y.place_id
        WHERE x.ts < y.ts_end AND y.ts < x.ts_end)
      SELECT * FROM (SELECT * FROM near UNION ALL SELECT * FROM stays) ORDER BY a_ts, b_ts LIMIT $n""",
                     {"dt": dt, "r": radius_m, "n": limit, "overlap": overlap_types(settings)}).df()  # fmt: skip
    df = df.astype(object).where(df.notna(), None)
    return [{"how": r["how"], "dt_s": int(r["dt_s"]),
             "a": {c: (shown(r[f"a_{c}"]) if c == "ts" else r[f"a_{c}"]) for c in SIDE},
             "b": {c: (shown(r[f"b_{c}"]) if c == "ts" else r[f"b_{c}"]) for c in SIDE}} for r in df.to_dict(orient="records")]  # fmt: skip


def compare(settings, a: Subject, b: Subject, dt_seconds: int = 3600, radius_m: float = 300, start: datetime | None = None,
            end: datetime | None = None, limit: int = 500) -> dict:  # fmt: skip
    """``{"a": trajectory, "b": trajectory, "coincidences": [...]}``."""
    src = source(settings)
    out = {"a": trajectory(settings, a, start, end, limit), "b": trajectory(settings, b, start, end, limit),
           "dt_seconds": dt_seconds, "radius_m": radius_m, "coincidences": []}  # fmt: skip
    if src is None:
        return out
    dt = max(1, min(int(dt_seconds), MAX_DT))
    out["coincidences"] = _coincidences(settings, cursor(), src, a, b, start, end, dt, max(1.0, min(float(radius_m), MAX_RADIUS)), limit)
    return out
