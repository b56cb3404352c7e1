"""The hot-spot map's forecast is computed once per day and data version, in the background:
a request answers at once with the progress, the next ones read the result; one worker computes
while the others wait for it."""

from __future__ import annotations

import threading
import time

from zhijing.derived import computed
from zhijing.derived.risk import hotspots


def test_one_computation_serves_every_request(risk_home, make_api, monkeypatch):
    api = make_api(risk_home.home)
    calls = []
    real = hotspots.forecast

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(hotspots, "forecast", counted)
    h = api.headers("paichusuo01")
    first = api.get("/api/risk/hotcells", params={"day": "2026-05-01", "wait": 0}, headers=h).json()
    assert first["state"] in ("computing", "ok") and 0 <= first["done"] <= 1  # at once, with its progress
    done = api.get("/api/risk/hotcells", params={"day": "2026-05-01", "wait": 60}, headers=h).json()
    assert done["state"] == "ok" and done["cells"] and set(done["cells"][-1]) == {"lon", "lat", "expected"}
    assert all(c["place"]["station"] for c in done["cells"][:10])  # the patrol list names its streets and stations
    again = api.get("/api/risk/hotcells", params={"day": "2026-05-01", "wait": 0}, headers=h).json()
    assert again == done and len(calls) == 1  # read from the cache, not computed again
    assert api.get("/api/risk/hotcells", params={"day": "2026-05-02", "wait": 60}, headers=h).json()["state"] == "ok"
    assert len(calls) == 2  # another day is another forecast
    bad = api.get("/api/risk/hotcells", params={"wait": 61}, headers=h)
    assert bad.status_code == 422 and set(bad.json()) == {"detail"}


def test_a_key_is_computed_once_while_others_wait_and_progress_is_shown(settings):
    gate, runs = threading.Event(), []

    def make(out, report):
        runs.append(1)
        report(0.5, "half")
        gate.wait(10)
        (out / "x").write_text("42")

    state = computed.start(settings, "test", "k1", make)
    for _ in range(100):  # the background worker has taken the lock and reported
        if computed.progress(settings, "test", "k1")["step"] == "half":
            break
        time.sleep(0.02)
    assert computed.progress(settings, "test", "k1") == {"state": "computing", "done": 0.5, "step": "half"}
    assert state["state"] == "computing"
    assert computed.compute(settings, "test", "k1", make)["state"] == "computing"  # another worker: no second run
    gate.set()
    assert computed.start(settings, "test", "k1", make, wait_s=10)["state"] == "ok"
    assert (computed.ready(settings, "test", "k1") / "x").read_text() == "42" and len(runs) == 1
    assert computed.key("a", 1) == computed.key("a", "1") != computed.key("b", 1)


def test_a_failed_computation_says_so_and_is_tried_again(settings):
    def broken(out, report):
        raise ValueError("no data")

    state = computed.start(settings, "test", "k2", broken, wait_s=0.0)
    for _ in range(100):
        state = computed.progress(settings, "test", "k2")
        if state["state"] == "failed":
            break
        time.sleep(0.02)
    assert state == {"state": "failed", "done": 0.0, "step": "ValueError"}
    assert computed.start(settings, "test", "k2", lambda out, report: None, wait_s=5)["state"] == "ok"
