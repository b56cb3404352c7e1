"""``zhijing demo``'s stand-in dispatcher (``demo.LiveCity.dispatch_waiting``), which keeps the
demo's units driving: a located call nobody has taken within the grace period goes to the
fastest unit by road among those with no officer on a phone; a fresh call, a call a person has
already dispatched and an unlocated one are left alone, and the phone's own car is never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from zhijing.command import recommend, store
from zhijing.config import Settings


@pytest.fixture(scope="module")
def home(small_city, tmp_path_factory) -> Settings:
    from zhijing.governance.ingest import ingest_reference

    s = Settings(home=tmp_path_factory.mktemp("demo-dispatch") / "home")
    ingest_reference(s, small_city / "sources")
    store.seed_units(s)
    return s


def _call(unit: dict, minutes_ago: float, **more) -> dict:
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {"narrative": "有人在小区门口打架", "lon": unit["lon"] + 0.006, "lat": unit["lat"] + 0.004, "station": unit["station"],
            "located": "coords", "category": "打架斗殴", "priority": 1, "received_at": at.isoformat(), **more}  # fmt: skip


def test_the_stand_in_sends_the_fastest_phoneless_unit_and_overrules_no_one(home):
    from zhijing.demo import LiveCity

    cache = recommend.cache_for(home)
    car = next(u for u in store.units(home) if u["kind"] == "patrol_car")
    waiting = store.create_incident(home, _call(car, 3), "replay", "replay")
    best = recommend.recommend(home, waiting["lon"], waiting["lat"], store.units(home), k=1, streets=cache)[0]["unit"]
    with store.engine(home).begin() as conn:  # the fastest unit of all has an officer on its phone
        conn.execute(sa.update(store.units_t).where(store.units_t.c.id == best).values(username="xunluo99"))
    fresh = store.create_incident(home, _call(car, 0, narrative="楼上装修噪音很大", category="噪音扰民", lat=car["lat"] - 0.008), "replay", "replay")
    taken = store.create_incident(home, _call(car, 3, narrative="商场里有人偷东西", category="盗窃", lon=car["lon"] - 0.01), "replay", "replay")
    by_hand = next(u["id"] for u in store.units(home) if u["status"] == "available" and u["id"] != best and u["kind"] == "foot")
    store.assign(home, taken["id"], by_hand, "zhihui01")
    nowhere = store.create_incident(home, {"narrative": "说不清在哪里", "received_at": _call(car, 3)["received_at"]}, "replay", "replay")

    phoneless = [u for u in store.units(home) if not u.get("username")]
    expected = recommend.recommend(home, waiting["lon"], waiting["lat"], phoneless, k=1, streets=cache)[0]["unit"]
    sent = LiveCity(home, lake=False, auto_dispatch_s=60).dispatch_waiting(cache)

    assert sent == [(waiting["id"], expected)] and expected != best
    assert store.unit(home, best)["status"] == "available"  # the phone's car waits for its officer
    assert store.incident(home, fresh["id"])["state"] == "received" and fresh["parent"] is None  # inside the grace period: a person may take it
    assert [(a["unit"], a["by"]) for a in store.incident(home, taken["id"])["assignments"]] == [(by_hand, "zhihui01")]
    assert store.incident(home, nowhere["id"])["state"] == "received"  # not located: a person must look
    assert LiveCity(home, lake=False, auto_dispatch_s=60).dispatch_waiting(cache) == []  # nothing twice
