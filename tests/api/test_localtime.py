"""The one helper every serializer shows times with (zhijing/localtime.py): stored UTC and
typed wall times alike come out as ISO with the deployment zone's offset."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from zhijing.config import reset_settings
from zhijing.localtime import in_zone, shown, shown_all, shown_fields, zone_label


def test_stored_utc_and_typed_wall_times_are_shown_with_the_zone_offset():
    assert shown("2025-03-03T19:00:00") == "2025-03-04T03:00:00+08:00"  # the serving store's UTC text
    assert shown("2025-03-03T19:00:00Z") == shown(datetime(2025, 3, 3, 19, tzinfo=UTC)) == "2025-03-04T03:00:00+08:00"
    assert shown(pd.Timestamp("2025-03-04 11:15:00+00:00")) == "2025-03-04T19:15:00+08:00"  # a crowd warning's window
    assert shown("2025-03-04T03:00", naive="local") == "2025-03-04T03:00:00+08:00"  # what an officer typed
    assert shown(None) is None and shown(pd.NaT) is None and shown("") is None
    assert in_zone("2025-03-04T08:00") == datetime(2025, 3, 4, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        shown("yesterday")


def test_nested_values_keep_what_only_their_producer_can_place():
    tree = {"window": "2025-03-04 11:15:00+00:00", "count": 3, "day": "2025-03-04", "typed": "2025-03-04T11:15:00",
            "runs": [{"at": datetime(2025, 3, 4, 11, tzinfo=UTC)}]}  # fmt: skip
    assert shown_all(tree) == {"window": "2025-03-04T19:15:00+08:00", "count": 3, "day": "2025-03-04", "typed": "2025-03-04T11:15:00",
                               "runs": [{"at": "2025-03-04T19:00:00+08:00"}]}  # fmt: skip
    assert shown_fields({"created_at": "2025-03-04T11:00:00Z", "n": 1}, "created_at", "missing") == {"created_at": "2025-03-04T19:00:00+08:00", "n": 1}


def test_the_zone_is_one_setting(monkeypatch):
    assert zone_label() == "北京时间 UTC+8" and zone_label("en") == "Beijing time UTC+8"
    monkeypatch.setenv("ZHIJING_TIMEZONE", "Asia/Kolkata")
    reset_settings()
    try:
        assert shown("2025-03-03T19:00:00Z") == "2025-03-04T00:30:00+05:30" and zone_label() == "Asia/Kolkata UTC+5:30"
    finally:
        monkeypatch.delenv("ZHIJING_TIMEZONE")
        reset_settings()
