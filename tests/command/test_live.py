"""The live bus's bookkeeping: a sequence number committed late (PostgreSQL hands them out
before commit) is still delivered; one that never comes is given up on after a wait."""

from __future__ import annotations

from zhijing.command.live import GAP_S, Bus, visible
from zhijing.config import Settings


def test_a_late_commit_is_waited_for_and_a_lost_number_given_up_on(tmp_path):
    bus = Bus(Settings(home=tmp_path), loop=None)
    bus.low, bus.above = 10, {12, 13}  # 11 is still committing
    bus._advance(0.0)
    assert bus.low == 10
    bus.above.add(11)  # it arrived: everything up to 13 is done
    bus._advance(0.5)
    assert (bus.low, bus.above) == (13, set())
    bus.above = {15}  # 14 was rolled back: never comes
    bus._advance(1.0)
    bus._advance(1.0 + GAP_S / 2)
    assert bus.low == 13
    bus._advance(1.0 + GAP_S)
    assert (bus.low, bus.above) == (15, set())


def test_an_event_lies_in_its_incidents_or_its_units_jurisdiction():
    e = {"station": "33020301", "unit": "33020405-巡1"}
    assert visible(e, None) and visible(e, "33020301") and visible(e, "330204") and visible(e, "3302")
    assert not visible(e, "33020302") and not visible({"station": None, "unit": None}, "33020301")
