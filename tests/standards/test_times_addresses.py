"""Dates and times in the formats departments really send; addresses parsed to codes."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from zhijing.standards import address, timeparse

LOCAL = timeparse.LOCAL
local_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0, tzinfo=LOCAL)
)


def _wall(t: datetime) -> datetime:
    """The instant a wall-clock text without offset names: in the hour Shanghai's clocks went
    back (1986-1991) the first of the two (fold=0), as in a gap — hypothesis also draws fold=1,
    which no such text can express."""
    return t.replace(fold=0).astimezone(UTC)


def _formats(t: datetime) -> list[tuple[str, datetime]]:
    """(text, the instant it names)."""
    wall, instant = _wall(t), t.astimezone(UTC)
    return [
        (t.strftime("%Y-%m-%d %H:%M:%S"), wall),
        (f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}:{t.second:02d}", wall),
        (t.strftime("%Y%m%d%H%M%S"), wall),
        (f"{t.year}年{t.month}月{t.day}日 {t.hour}时{t.minute}分{t.second}秒", wall),
        (t.isoformat(), instant),
        (t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), instant),
        (str(int(t.timestamp())), instant),
        (str(int(t.timestamp() * 1000)), instant),
    ]


@given(local_times)
def test_every_format_gives_the_same_instant(t):
    for text, expected in _formats(t):
        assert timeparse.parse(text) == expected, text


@given(local_times)
def test_excel_serials_are_local_wall_time(t):
    serial = (t.replace(tzinfo=None) - timeparse.EXCEL_EPOCH) / timedelta(days=1)
    got = timeparse.parse(f"{serial:.8f}")
    assert abs((got - _wall(t)).total_seconds()) < 1


@given(st.dates(min_value=datetime(1900, 1, 2).date(), max_value=datetime(2099, 12, 31).date()))
def test_dates_keep_the_calendar_day(d):
    for text in (d.isoformat(), f"{d.year}/{d.month}/{d.day}", d.strftime("%Y%m%d"), f"{d.year}年{d.month}月{d.day}日"):
        assert timeparse.normalize_date(text).value == d.isoformat()


def test_rejections():
    assert timeparse.normalize("2024-02-30").reason == "bad_format"
    assert timeparse.normalize("昨天下午").reason == "bad_format"
    assert timeparse.normalize("").reason == "missing"
    assert timeparse.normalize("3024-01-01").reason == "out_of_range"


def test_addresses_parse_to_division_codes():
    full, bare, junk = address.parse_many(["浙江省宁波市鄞州区钟公庙街道天童南路588号", "海曙区中山西路1号", "不详"])
    assert (full.province, full.city, full.district, full.division_code) == ("浙江省", "宁波市", "鄞州区", "330212")
    assert full.detail == "钟公庙街道天童南路588号"
    assert (bare.city, bare.division_code) == ("宁波市", "330203")  # city inferred from the district
    assert junk.division_code is None
