"""The calendar rules of statutory time limits, checked by hand (CPL 105; Beijing time;
holidays and make-up working days of 2026 as the State Council announced them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from zhijing.cases.procedure import deadlines
from zhijing.cases.procedure.rules import load

BJ = timezone(timedelta(hours=8))


def bj(*a) -> datetime:
    return datetime(*a, tzinfo=BJ)


# (limit, start, extension condition or None, due in Beijing time, why)
FIXTURE = [
    ("拘留后提请批捕", bj(2026, 3, 10, 22, 30), None, bj(2026, 3, 14), "start day left out: 11, 12, 13 → midnight after the 13th"),
    ("拘留后提请批捕", datetime(2026, 3, 10, 17, 30, tzinfo=UTC), None, bj(2026, 3, 15),
     "17:30 UTC on the 10th is 01:30 on the 11th in Beijing: the day counted from is Beijing's"),
    ("拘留后提请批捕", bj(2026, 9, 30, 10), None, bj(2026, 10, 4), "held: the last day 10-03 is a holiday, no extension"),
    ("拘留后提请批捕", bj(2026, 3, 10, 9), "特殊情况", bj(2026, 3, 18), "extended to 7 days: last day 03-17"),
    ("拘留后提请批捕", bj(2026, 3, 10, 9), "结伙作案", bj(2026, 4, 10), "extended to 30 days: last day 04-09"),
    ("立案审查", bj(2026, 9, 28, 9), None, bj(2026, 10, 9), "not held: last day 10-01 is 国庆, next working day 10-08"),
    ("立案审查", bj(2026, 10, 7, 10), None, bj(2026, 10, 11), "10-10 is a Saturday but a make-up working day (调休)"),
    ("立案审查", bj(2026, 3, 4, 16), None, bj(2026, 3, 10), "last day Saturday 03-07 → Monday 03-09"),
    ("办案期限", bj(2026, 1, 20, 15), None, bj(2026, 2, 25), "30 days: last day 02-19 in 春节 (02-15..02-23) → 02-24"),
    ("办案期限", bj(2026, 1, 20, 15), "案情重大复杂", bj(2026, 3, 24), "60 days: last day 03-21 is a Saturday → Monday 03-23"),
    ("检察院审查批捕", bj(2026, 2, 12, 11), None, bj(2026, 2, 20), "held: last day 02-19 in 春节, no extension"),
    ("逮捕后侦查羁押", bj(2026, 2, 28, 8), None, bj(2026, 5, 1), "from a month's last day to the last day of April"),
    ("逮捕后侦查羁押", bj(2026, 12, 31, 8), None, bj(2027, 3, 1), "12-31 + 2 months → 02-28 (last day of February 2027)"),
    ("取保候审", bj(2025, 2, 15, 10), None, bj(2026, 2, 25), "12 months → 2026-02-15, 春节 → working day 02-24"),
    ("传唤", bj(2026, 5, 1, 20, 15), None, bj(2026, 5, 2, 8, 15), "12 hours from the instant, holidays irrelevant"),
    ("传唤", bj(2026, 5, 1, 20, 15), "案情特别重大复杂需要采取拘留逮捕措施", bj(2026, 5, 2, 20, 15), "24 hours"),
    ("询问查证", bj(2026, 6, 1, 23), None, bj(2026, 6, 2, 7), "8 hours"),
]


@pytest.mark.parametrize("name,start,condition,want,why", FIXTURE, ids=[f"{f[0]}-{i}" for i, f in enumerate(FIXTURE)])
def test_due(name, start, condition, want, why):
    limit = load().limits[name]
    ext = deadlines.extension_for(limit, condition) if condition else None
    assert condition is None or ext is not None
    assert deadlines.due_of(limit, start, ext) == want, why


def test_naive_start_refused():
    with pytest.raises(ValueError):
        deadlines.due(datetime(2026, 3, 1), days=3, custodial=True)


def test_countdown_states():
    due = bj(2026, 3, 14)
    assert deadlines.countdown(due, 12, bj(2026, 3, 13, 0)).state == "running"
    assert deadlines.countdown(due, 12, bj(2026, 3, 13, 13)).state == "warning"
    late = deadlines.countdown(due, 12, bj(2026, 3, 14, 1))
    assert late.state == "lapsed" and late.seconds_left == -3600 and late.breach
    assert deadlines.countdown(due, 12, bj(2026, 3, 20), stopped_at=bj(2026, 3, 13)).state == "met"
    assert deadlines.countdown(due, 12, bj(2026, 3, 20), stopped_at=bj(2026, 3, 14, 0, 1)).state == "breached"
