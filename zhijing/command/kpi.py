"""Response metrics (接处警时效) as NENA and NFPA define them, from the assignment timestamps.

Four intervals (docs/dispatch.md#kpis):

- call processing (NFPA 1225 "alarm processing"): the call received → the FIRST unit dispatched;
- turnout (NFPA 1710): a unit dispatched → that unit en route, per assignment;
- travel (NFPA 1710): a unit en route → that unit on scene, per assignment;
- total response: the call received → the FIRST unit on scene (a reassigned unit that never
  arrived does not count; the one that arrived first does).

Percentiles are nearest-rank (the smallest value with at least p % of the values at or below it,
Hyndman & Fan type 1, as NFPA's "90th percentile" compliance is read): DuckDB's
``quantile_disc``. Each table gives p50 / p90 / p95 and the share of intervals at or below the
target (``settings.dispatch``), per unit, station (the incident's jurisdiction), priority and hour
(the hour the call was received, in the deployment's zone). A negative interval (clocks out of
step) is flagged and left out; an incident no unit was dispatched to counts as open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import sqlalchemy as sa

from zhijing.command import store
from zhijing.config import Settings
from zhijing.localtime import instant

# metric -> (from, to, the DispatchSettings field holding its target in seconds)
METRICS: dict[str, tuple[str, str, str]] = {
    "call_processing": ("received_at", "dispatched_at", "call_processing_s"),
    "turnout": ("dispatched_at", "en_route_at", "turnout_s"),
    "travel": ("en_route_at", "on_scene_at", "travel_s"),
    "total_response": ("received_at", "on_scene_at", "total_s"),
}
QUANTILES = (50, 90, 95)
DIMENSIONS = ("unit", "station", "priority", "hour")
METHOD = "nearest-rank (Hyndman & Fan type 1; DuckDB quantile_disc)"
TIMES = ("received_at", "dispatched_at", "en_route_at", "on_scene_at")
COLUMNS = ("incident", "priority", "station", "state", "assignment", "unit", *TIMES)


def _frame(rows: pd.DataFrame | Iterable[dict]) -> pd.DataFrame:
    """One row per assignment (an incident with none: one row, assignment fields empty), its
    times as UTC instants (a naive time is UTC, as the metadata store keeps it)."""
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    for col in COLUMNS:
        if col not in frame:
            frame[col] = None
    for col in TIMES:
        frame[col] = pd.to_datetime([instant(v) for v in frame[col]], utc=True)
    return frame


def _intervals(frame: pd.DataFrame, zone: ZoneInfo) -> pd.DataFrame:
    """The long table of intervals: metric, incident, assignment, unit, station, priority, hour, seconds."""
    incidents = frame.groupby("incident", sort=False).agg(
        received_at=("received_at", "first"), priority=("priority", "first"), station=("station", "first"),
        dispatched_at=("dispatched_at", "min"), on_scene_at=("on_scene_at", "min"))  # fmt: skip
    incidents = incidents.reset_index()
    parts = []
    for metric, (start, end, _) in METRICS.items():
        per_incident = start == "received_at"
        src = incidents if per_incident else frame
        part = pd.DataFrame({
            "metric": metric, "incident": src["incident"],
            "assignment": None if per_incident else src["assignment"].astype(object),
            "unit": None if per_incident else src["unit"].astype(object),
            "station": src["station"], "priority": src["priority"], "received_at": src["received_at"],
            "seconds": (src[end] - src[start]).dt.total_seconds()})  # fmt: skip
        parts.append(part[part["seconds"].notna()])
    out = pd.concat(parts, ignore_index=True)
    out["hour"] = out["received_at"].dt.tz_convert(zone).dt.hour
    out["priority"] = out["priority"].astype("Int64")
    return out.drop(columns="received_at")


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    inc = frame.groupby("incident", sort=False).agg(
        dispatched=("dispatched_at", "count"), arrived=("on_scene_at", "count"), state=("state", "first"))  # fmt: skip
    closed = inc["state"].eq("closed")
    undispatched = inc["dispatched"].eq(0)
    return {"incidents": len(inc), "dispatched": int((~undispatched).sum()), "on_scene": int(inc["arrived"].gt(0).sum()),
            "open": int((undispatched & ~closed).sum()), "closed_without_dispatch": int((undispatched & closed).sum())}  # fmt: skip


def _table(intervals: pd.DataFrame, targets: dict[str, float]) -> list[dict]:
    """p50/p90/p95, count and the share within target per metric, overall and per dimension."""
    target_frame = pd.DataFrame({"metric": list(targets), "target_s": list(targets.values())})
    sets = ", ".join(["(metric)"] + [f"(metric, {d})" for d in DIMENSIONS])
    by = " ".join(f"WHEN grouping({d}) = 0 THEN '{d}'" for d in DIMENSIONS)
    key = " ".join(f"WHEN grouping({d}) = 0 THEN {d}::VARCHAR" for d in DIMENSIONS)
    qs = ", ".join(str(q / 100) for q in QUANTILES)
    sql = f"""
        SELECT CASE {by} ELSE 'all' END AS dim, CASE {key} END AS key, metric, count(*) AS n,
               quantile_disc(seconds, [{qs}]) AS q, any_value(target_s) AS target_s,
               avg((seconds <= target_s)::INT) AS met
        FROM iv JOIN targets USING (metric)
        GROUP BY GROUPING SETS ({sets})
        HAVING dim = 'all' OR key IS NOT NULL
        ORDER BY dim, key, metric"""
    with duckdb.connect() as con:
        con.register("iv", intervals[["metric", *DIMENSIONS, "seconds"]])
        con.register("targets", target_frame)
        rows = con.execute(sql).fetchall()
    out = []
    for by_, key_, metric, n, q, target, met in rows:
        key_ = int(key_) if by_ in ("priority", "hour") else key_
        out.append({"by": by_, "key": key_, "metric": metric, "n": n,
                    **{f"p{p}": v for p, v in zip(QUANTILES, q, strict=True)}, "target_s": target, "met": met})  # fmt: skip
    return out


def metrics(rows: pd.DataFrame | Iterable[dict], settings: Settings) -> dict[str, Any]:
    """The response metrics of ``rows`` (incident, received_at, priority, station, state,
    assignment, unit, dispatched_at, en_route_at, on_scene_at: one row per assignment).

    Returns ``counts`` (incidents, dispatched, on scene, open = no unit dispatched yet,
    closed without dispatch), ``rows`` (one per by × key × metric: n, p50, p90, p95, target_s,
    met = share within target, ok = met reaches the target percentile) and ``flagged`` (the
    negative intervals left out)."""
    cfg = settings.dispatch
    targets = {m: float(getattr(cfg, field)) for m, (_, _, field) in METRICS.items()}
    frame = _frame(rows)
    intervals = _intervals(frame, ZoneInfo(settings.timezone))
    negative = intervals["seconds"] < 0
    flagged = intervals.loc[negative, ["metric", "incident", "assignment", "unit", "seconds"]]
    table = _table(intervals[~negative], targets) if (~negative).any() else []
    for row in table:
        row["ok"] = row["met"] >= cfg.percentile / 100
    return {"method": METHOD, "percentile": cfg.percentile, "targets": targets, "counts": _counts(frame),
            "rows": table, "flagged": flagged.astype(object).where(flagged.notna(), None).to_dict("records")}  # fmt: skip


def from_store(settings: Settings, station: str | None = None, since: datetime | None = None) -> dict[str, Any]:
    """The metrics of the incidents in the command store: of the jurisdiction whose station
    codes start with ``station`` (a station, a branch's prefix; None: the city), received since
    ``since`` when given. Merged duplicate calls are left out (their primary carries the response)."""
    inc, asg = store.incidents_t, store.assignments_t
    query = (sa.select(inc.c.id.label("incident"), inc.c.received_at, inc.c.priority, inc.c.station, inc.c.state,
                       asg.c.id.label("assignment"), asg.c.unit, asg.c.dispatched_at, asg.c.en_route_at, asg.c.on_scene_at)
             .select_from(inc.outerjoin(asg, asg.c.incident == inc.c.id)).where(inc.c.parent.is_(None)))  # fmt: skip
    if station:
        query = query.where(inc.c.station.startswith(station, autoescape=True))
    if since is not None:
        query = query.where(inc.c.received_at >= since.astimezone(UTC))
    with store.engine(settings).connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return metrics(rows, settings)
