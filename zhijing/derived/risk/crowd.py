"""Crowd safety at gatherings: door-access openings and checkpoint passes counted per H3
cell and 5-minute window, with an alert when a window's count passes a density threshold.

Aggregates only: the output has cells, windows and counts — never a card holder, phone
or plate."""

from __future__ import annotations

import h3
import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import data
from zhijing.localtime import zone

NAME, VERSION = "crowd", "1"
RESOLUTION, WINDOW_MIN, THRESHOLD = 8, 5, 30


def _cell(lat, lon) -> list[str]:
    return [h3.latlng_to_cell(float(y), float(x), RESOLUTION) for y, x in zip(lat, lon, strict=True)]


def counts(settings: Settings) -> pd.DataFrame:
    """(cell, window, source, count): door openings by community, checkpoint passes by site."""
    parts = []
    door = data.query(settings, f"""
        SELECT community_code AS site, time_bucket(INTERVAL {WINDOW_MIN} MINUTE, time) AS window, count(*) AS n FROM d
        WHERE time IS NOT NULL AND result = 'open' GROUP BY ALL""", d="door_access")  # fmt: skip
    if not door.empty:
        sites = data.query(settings, """
            SELECT substr(dzbm, 1, 14) AS site, avg(TRY_CAST(lat AS DOUBLE)) AS lat, avg(TRY_CAST(lon AS DOUBLE)) AS lon
            FROM s GROUP BY 1""", s="standard_address")  # fmt: skip
        door = door.merge(sites, on="site")
        parts.append(door.assign(source="door_access"))
    cars = data.query(settings, f"""
        SELECT r.checkpoint_id AS site, time_bucket(INTERVAL {WINDOW_MIN} MINUTE, r.ts) AS window, count(*) AS n,
               any_value(TRY_CAST(c.lat AS DOUBLE)) AS lat, any_value(TRY_CAST(c.lon AS DOUBLE)) AS lon
        FROM r JOIN c USING (checkpoint_id) WHERE r.ts IS NOT NULL GROUP BY ALL""", r="checkpoint_read", c="checkpoints")  # fmt: skip
    if not cars.empty:
        parts.append(cars.assign(source="checkpoint_read"))
    if not parts:
        return pd.DataFrame(columns=["cell", "window", "source", "count"])
    f = pd.concat(parts, ignore_index=True)
    f["cell"] = _cell(f.lat, f.lon)
    return f.groupby(["cell", "window", "source"], as_index=False).n.sum().rename(columns={"n": "count"})


def alerts(settings: Settings, threshold: int = THRESHOLD) -> pd.DataFrame:
    c = counts(settings)
    return c[c["count"] >= threshold].sort_values("count", ascending=False).reset_index(drop=True)


def _local(window) -> str:
    """A window's start in the deployment's zone, with its offset (part of the warning's subject)."""
    t = pd.Timestamp(window)
    return (t.tz_localize("UTC") if t.tzinfo is None else t).tz_convert(zone()).isoformat(timespec="minutes")


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    """One warning per cell, window and source: the subject names all three (a gathering
    fills several windows of one cell, and a re-run matches warnings by subject)."""
    a = alerts(settings)
    return [{"subject_kind": "area", "subject": f"{r.cell} {_local(r.window)} {r.source}",
             "label": "人员聚集密度预警", "score": float(r["count"]),
             "evidence": {"window": str(r.window), "count": int(r["count"]), "source": r.source, "window_minutes": WINDOW_MIN}}
            for _, r in a.iterrows()]  # fmt: skip
