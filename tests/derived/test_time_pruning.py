"""The time pre-filters of companions and collision only skip row groups: on the generated
city every answer equals the unpruned scan's (the subjects with the most stays, trips and
reads; windows around hotel stays that began days before the window)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from bench.bench_workbench import unfiltered
from zhijing.derived.workbench import collision, companions, presence
from zhijing.derived.workbench.subjects import Subject
from zhijing.derived.workbench.windows import Window, circle


def _presence(settings) -> str:
    return presence.source(settings, by_time=True)


def test_the_longest_span_is_recorded_and_bounds_every_row(workbench):
    span = presence.max_span(workbench.settings)
    assert span is not None and span >= 86400  # hotel stays of a night or more
    longest = duckdb.sql(f"SELECT max(epoch(ts_end) - epoch(ts)) FROM {_presence(workbench.settings)}").fetchall()[0][0]
    assert span == pytest.approx(longest)


def test_companions_equal_the_unpruned_scan(workbench):
    s = workbench.settings
    busiest = duckdb.sql(f"""SELECT subject FROM {_presence(s)} WHERE subject_kind = 'person' AND mode IN ('stay', 'trip', 'pass')
                             GROUP BY subject ORDER BY count(DISTINCT mode) DESC, count(*) DESC, subject LIMIT 12""").fetchall()  # fmt: skip
    assert len(busiest) == 12
    found = 0
    for (master,) in busiest:
        subject = Subject("person", (master,))
        got = companions.companions(s, subject, dt_seconds=600)
        assert got == unfiltered(companions.companions, s, subject, dt_seconds=600), master
        found += len(got["companions"])
    assert found  # the comparison saw companions, not only empty answers


def test_collision_equals_the_unpruned_scan_around_long_stays(workbench):
    s = workbench.settings
    stays = duckdb.sql(f"""SELECT ts, ts_end, lon, lat FROM {_presence(s)} WHERE mode = 'stay' AND lon IS NOT NULL
                           AND ts_end - ts >= INTERVAL 2 DAY ORDER BY ts_end - ts DESC, ts LIMIT 3""").fetchall()  # fmt: skip
    assert len(stays) == 3
    windows = []
    for i, (ts, ts_end, lon, lat) in enumerate(stays):  # windows that open after the stay began: its row is before t0
        t0 = ts + (ts_end - ts) / 2
        windows.append(Window(i, f"w{i}", "circle", t0, t0 + timedelta(hours=6), shape=circle(lon, lat, 500)))
    got = collision.collide(s, windows, k=1)
    assert got["total"] > 0
    assert got == unfiltered(collision.collide, s, windows, k=1)
