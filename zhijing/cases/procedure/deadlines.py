"""Statutory time limits as calendar rules (CPL 105): a period in hours runs from the instant
it starts; one in days or months leaves the starting day out and ends at midnight (Beijing
time) of its last day; a last day that is a holiday moves to the next working day — except
while the person is held, whose period never grows over a holiday.

Hours are counted from the instant, not from the next full hour: the stricter reading, so a
supervisor's flag never comes later than the law allows. Holidays and make-up working days are
the State Council's (``chinese_calendar``); a year it does not know yet counts weekends only."""

from __future__ import annotations

import calendar as cal
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from dateutil.relativedelta import relativedelta

from zhijing.cases.procedure.rules import Extension, Limit, load


@lru_cache(maxsize=4096)
def is_holiday(day: date) -> bool:
    try:
        return chinese_calendar.is_holiday(day)
    except NotImplementedError:  # a year the package has no notice for yet
        return day.weekday() >= 5


def zone() -> ZoneInfo:
    return ZoneInfo(load().calendar["zone"])


def _end_of(day: date) -> datetime:
    """Midnight after ``day`` in Beijing time, as a UTC instant: the period's last moment."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone()).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later; from a month's last day, the target month's last day; a day
    the target month lacks, its last day (最高人民法院关于适用刑事诉讼法的解释, 期间以月计算)."""
    target = day + relativedelta(months=months)
    if day.day == cal.monthrange(day.year, day.month)[1]:
        return target.replace(day=cal.monthrange(target.year, target.month)[1])
    return target


def due(start: datetime, *, hours: int | None = None, days: int | None = None, months: int | None = None,
        custodial: bool) -> datetime:  # fmt: skip
    """The instant a period of the given length, begun at ``start``, lapses."""
    if start.tzinfo is None:
        raise ValueError("a period's start must be an aware time")
    if hours is not None:
        return (start + timedelta(hours=hours)).astimezone(UTC)
    first = start.astimezone(zone()).date()
    last = first + timedelta(days=days) if days is not None else add_months(first, months or 0)
    while not custodial and is_holiday(last):
        last += timedelta(days=1)
    return _end_of(last)


def length(obj: Limit | Extension) -> dict:
    return {k: v for k in ("hours", "days", "months") if (v := getattr(obj, k)) is not None}


def due_of(limit: Limit, start: datetime, extension: Extension | None = None) -> datetime:
    """A limit's lapse, or its extended lapse (an extension states the new total length)."""
    return due(start, custodial=limit.custodial, **length(extension or limit))


def extension_for(limit: Limit, condition: str | None) -> Extension | None:
    """The extension whose stated condition this is (None: no such condition, the extension is refused)."""
    return next((e for e in limit.extensions if condition and e.condition == condition.strip()), None)


@dataclass(frozen=True)
class Countdown:
    state: str  # running | warning | lapsed | met | breached
    seconds_left: int  # negative once lapsed
    due_at: datetime

    @property
    def breach(self) -> bool:
        return self.state in ("lapsed", "breached")


def countdown(due_at: datetime, warn_hours: int, now: datetime, stopped_at: datetime | None = None) -> Countdown:
    """Where a limit stands at ``now``: met or breached once stopped; else running, warning
    within ``warn_hours`` of its lapse, lapsed after it."""
    if stopped_at is not None:
        return Countdown("met" if stopped_at <= due_at else "breached", int((due_at - stopped_at).total_seconds()), due_at)
    left = int((due_at - now).total_seconds())
    state = "lapsed" if left < 0 else "warning" if left <= warn_hours * 3600 else "running"
    return Countdown(state, left, due_at)
