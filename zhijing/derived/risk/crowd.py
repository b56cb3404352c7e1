"""Crowd safety at gatherings: the model's accesses (door-card openings, logins at a place)
and vehicle passes counted per H3 cell and 5-minute window, with an alert when a window's
count passes a density threshold.

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


SITES = f"""SELECT place_id AS site, time_bucket(INTERVAL {WINDOW_MIN} MINUTE, ts) AS window, dataset AS source, count(*) AS n,
                 avg(lat) AS lat, avg(lon) AS lon FROM e WHERE ts IS NOT NULL AND lon IS NOT NULL AND lat IS NOT NULL"""


def counts(settings: Settings) -> pd.DataFrame:
    """(cell, window, source, count): accesses (door openings, by community) and vehicle passes
    (by checkpoint) placed by the model; the source is the dataset that recorded them."""
    parts = [data.query(settings, f"{SITES} AND result IS DISTINCT FROM 'denied' GROUP BY ALL", e="access"),
             data.query(settings, f"{SITES} GROUP BY ALL", e="pass")]  # fmt: skip
    parts = [p for p in parts if not p.empty]
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


def group(subject: str) -> str:
    """The gathering a warning belongs to: its cell's alerts of one local day (a gathering fills
    several windows of one cell; the inbox shows them as one item)."""
    cell, _, rest = subject.partition(" ")
    return f"{cell} {rest[:10]}"


def warnings(settings: Settings, as_of: pd.Timestamp) -> list[dict]:
    """One warning per cell, window and source: the subject names all three (a gathering
    fills several windows of one cell, and a re-run matches warnings by subject)."""
    a = alerts(settings)
    return [{"subject_kind": "area", "subject": f"{r.cell} {_local(r.window)} {r.source}",
             "label": "人员聚集密度预警", "score": float(r["count"]),
             "evidence": {"window": str(r.window), "count": int(r["count"]), "source": r.source, "window_minutes": WINDOW_MIN}}
            for _, r in a.iterrows()]  # fmt: skip
