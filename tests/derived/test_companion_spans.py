"""The pre-filter of companions' checkpoint scan: spans ±Δt around the subject's reads,
near ones merged, too many bounded by the first and the last — never narrower than the
exact join needs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from zhijing.derived.workbench.companions import MAX_SPANS, _spans

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _parse(sql: str) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in re.findall(r"TIMESTAMPTZ '([^']+)' AND TIMESTAMPTZ '([^']+)'", sql)]


def test_spans_cover_every_read_and_merge_near_ones():
    times = [T0 + timedelta(days=3), T0, T0 + timedelta(minutes=30), T0 + timedelta(days=40)]
    spans = _parse(_spans(times, 120))
    assert spans == [(T0 - timedelta(seconds=120), T0 + timedelta(minutes=32)),
                     (T0 + timedelta(days=3, seconds=-120), T0 + timedelta(days=3, seconds=120)),
                     (T0 + timedelta(days=40, seconds=-120), T0 + timedelta(days=40, seconds=120))]  # fmt: skip
    assert all(any(a <= t - timedelta(seconds=120) and t + timedelta(seconds=120) <= b for a, b in spans) for t in times)


def test_spans_without_reads_or_too_many():
    assert _spans([], 120) == "false"
    many = [T0 + timedelta(days=i) for i in range(MAX_SPANS + 1)]
    assert _parse(_spans(many, 60)) == [(T0 - timedelta(seconds=60), many[-1] + timedelta(seconds=60))]


def test_every_cursor_keeps_parquet_footers():
    """Served lookups run on cursors; a plain SET on the parent connection never reached them."""
    from zhijing.derived.workbench.presence import cursor

    for con in (cursor(), cursor()):
        assert con.execute("SELECT current_setting('parquet_metadata_cache')").fetchall()[0][0] is True
