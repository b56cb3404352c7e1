"""Times are evidence (issue 18, item 1): the person file gives every time with its offset, in
the deployment's zone — a hotel check-in written 03:00 is 03:00+08:00, not 19:00 the day before."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

import pandas as pd

from zhijing.access.seed import DEMO_CASE
from zhijing.localtime import ISO_TIME
from zhijing.standards.timeparse import parse

BEIJING = ZoneInfo("Asia/Shanghai")


def _check_ins(city) -> pd.DataFrame:
    """Every lodging record's check-in as the hotel wrote it (wall time, no zone), with the
    instant it names in Beijing time; keys the source holds once."""
    frames = [pd.read_csv(f, dtype=str, encoding="gbk", encoding_errors="replace", on_bad_lines="skip") for f in sorted((city / "sources").rglob("lodging_*.csv"))]
    src = pd.concat(frames, ignore_index=True)[["入住单号", "入住时间"]].dropna()
    src = src[~src.入住单号.duplicated(keep=False)]
    at = src.入住时间.map(lambda raw: parse(raw))
    return src.assign(local=at.map(lambda t: t.astimezone(BEIJING) if t is not None else None)).dropna()


def _lodging_records(settings) -> pd.DataFrame:
    """(master_id, record_id) of every lodging record in the serving store."""
    with sqlite3.connect(settings.state_dir / "serving.db") as con:
        return pd.read_sql("SELECT DISTINCT master_id, record_id FROM person_records WHERE dataset = 'lodging'", con)


def _visible_lodgers(settings, user: str) -> set[str]:
    """Masters with a lodging record whom ``user``'s unit may see (need to know)."""
    from zhijing.access.guard import load_user
    from zhijing.access.scope import jurisdiction
    from zhijing.serving.person_file import places_of

    ids = sorted(set(_lodging_records(settings).master_id))
    station = jurisdiction(load_user(settings, user).unit)
    return {m for m, places in places_of(settings, ids).items() if any(p.startswith(station) for p in places)}


def test_a_check_in_before_dawn_is_shown_at_the_hour_the_hotel_wrote(resolved_city, make_api):
    settings, city, _ = resolved_city
    api = make_api(settings.home)
    from zhijing.config import get_settings

    early = _check_ins(city)
    early = early[early.local.map(lambda t: t.hour < 8)]  # UTC is still the day before: the old screens showed that day
    records = _lodging_records(get_settings()).merge(early, left_on="record_id", right_on="入住单号")
    visible = _visible_lodgers(get_settings(), "xingzhen01")
    pick = records[records.master_id.isin(visible)].sort_values("record_id").iloc[0]
    wall = pick.local.isoformat(timespec="seconds")
    assert wall.endswith("+08:00") and pick.local.hour < 8

    h = api.headers("xingzhen01", DEMO_CASE)
    events = api.get(f"/api/persons/{pick.master_id}/timeline", headers=h).json()["events"]
    shown = [e["time"] for e in events if e["dataset"] == "lodging" and e["record_id"] == pick.record_id]
    assert shown == [wall], (pick.入住时间, shown)  # e.g. 2025-03-04T03:00:00+08:00 for "2025/3/4 3:00"
    f = api.get(f"/api/persons/{pick.master_id}", headers=h).json()
    times = [e["time"] for e in f["timeline"]] + [v[k] for vals in f["facts"].values() for v in vals for k in ("first_seen", "last_seen") if v[k]]
    assert times and all(ISO_TIME.match(t)["offset"] == "+08:00" for t in times)


def test_a_call_counts_in_the_month_it_was_made_in_beijing(resolved_city):
    """The overview's incidents by month: a 110 call at 05:00 on the 1st belongs to that month,
    not (as its UTC instant would say) to the month before."""
    from zhijing.derived.geo import incident_cells
    from zhijing.lake.store import current_files

    settings, _, _ = resolved_city
    calls = pd.concat(pd.read_parquet(f, columns=["bjsj", "jd", "wd"]) for f in current_files(settings, "clean", "incident_110"))
    calls = calls.dropna()
    local = pd.to_datetime(calls.bjsj, utc=True).dt.tz_convert(BEIJING)
    assert (local.dt.month != pd.to_datetime(calls.bjsj, utc=True).dt.month).any()  # calls near a month's turn, to tell
    assert incident_cells(settings)["months"] == local.dt.strftime("%Y-%m").value_counts().sort_index().to_dict()
