"""Defects a newcomer's demo run found: a flooded inbox (642 area warnings a day, duplicates on
re-runs), no paging, empty evaluation column, any officer running a model synchronously,
English errors, and a statsmodels warning in the demo's risk step."""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
import pandas as pd
from rich.console import Console

from zhijing.derived.risk import blackspots, evaluate, hotspots, loop
from zhijing.derived.risk.registry import MODELS

AS_OF = pd.Timestamp("2026-07-01")


def test_hotspot_warnings_are_few_and_meaningful_while_the_map_keeps_every_top_cell(risk_home):
    found = hotspots.surface(risk_home, AS_OF)
    assert found is not None
    g, s = found
    cells = hotspots.warn_cells(g, s)
    assert 0 < len(cells) <= hotspots.WARN_MAX
    assert all(c["expected"] >= hotspots.WARN_LIFT * s.mean() for c in cells)
    assert [c["expected"] for c in cells] == sorted((c["expected"] for c in cells), reverse=True)
    assert cells[0]["expected"] == s.max()
    layer = hotspots.forecast(risk_home, AS_OF)
    assert len(layer) == max(1, round(0.01 * len(s))) > hotspots.WARN_MAX  # the patrol map stays complete
    r = loop.run(risk_home, "hotspots", AS_OF)
    assert r["status"] == "ok" and 0 < r["warnings"] <= hotspots.WARN_MAX


def test_warn_cells_threshold_is_relative_to_the_city_mean():
    class G:
        lonlat = np.array([[121.0 + k / 100, 29.0] for k in range(100)])

    s = np.full(100, 1e-5)
    assert hotspots.warn_cells(G, s) == []  # a flat surface warns of nothing
    s[7] = 1e-3  # one cell ~ 91 × the mean
    assert [c["lon"] for c in hotspots.warn_cells(G, s)] == [121.07]


def _open(s, model="mules"):
    return loop.inbox(s, "330200000000", "刑侦", model=model)


def test_rerun_updates_or_skips_open_warnings_never_duplicates(risk_home):
    s = risk_home
    assert loop.run(s, "mules", AS_OF)["status"] == "ok"
    first = _open(s)
    assert first
    loop.advance(s, first[0]["id"], "xingzhen01", "triaged")
    assert loop.run(s, "mules", AS_OF)["status"] == "ok"
    again = _open(s)
    with loop.engine(s).connect() as conn:  # identity is hidden in the inbox: compare stored subjects
        rows = conn.execute(
            loop.sa.select(loop.warnings_t.c.id, loop.warnings_t.c.subject, loop.warnings_t.c.state).where(
                loop.warnings_t.c.model == "mules",
                loop.warnings_t.c.current,
                loop.warnings_t.c.state != "closed",
            )
        ).all()
    subjects = [r.subject for r in rows]
    assert len(subjects) == len(set(subjects)) == len(first)
    assert {w["id"] for w in again} == {w["id"] for w in first}  # updated in place, same ids
    assert {r.id: r.state for r in rows}[first[0]["id"]] == "triaged"


def test_inbox_pages_and_filters(risk_home, make_api):
    api = make_api(risk_home.home)
    s = risk_home
    for name in ("mules", "blackspots"):
        assert loop.run(s, name, AS_OF)["status"] == "ok"
    h = api.headers("zhihui01")  # the city bureau's command centre: every desk's area warnings below it
    box = api.get("/api/risk/inbox", headers=h).json()
    assert set(box) >= {"total", "items", "limit", "offset"} and box["total"] == len(box["items"]) > 0
    page = api.get("/api/risk/inbox", params={"limit": 3, "offset": 2}, headers=h).json()
    assert page["total"] == box["total"] and [w["id"] for w in page["items"]] == [
        w["id"] for w in box["items"][2:5]
    ]
    x = api.headers("xingzhen01")
    everything = api.get("/api/risk/inbox", headers=x).json()["total"]
    mules_only = api.get("/api/risk/inbox", params={"model": "mules"}, headers=x).json()
    assert mules_only["total"] > 0 and {w["model"] for w in mules_only["items"]} == {"mules"}
    wid = mules_only["items"][0]["id"]
    assert (
        api.post(f"/api/risk/warnings/{wid}/state", headers=x, data={"state": "triaged"}).status_code == 200
    )
    triaged = api.get("/api/risk/inbox", params={"state": "triaged"}, headers=x).json()
    assert [w["id"] for w in triaged["items"]] == [wid] and triaged["total"] == 1
    future = api.get("/api/risk/inbox", params={"since": "2999-01-01"}, headers=x).json()
    assert future["total"] == 0 and future["items"] == []
    today = pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y-%m-%d")
    assert api.get("/api/risk/inbox", params={"until": today}, headers=x).json()["total"] == everything
    assert api.get("/api/risk/inbox", params={"state": "nope"}, headers=x).status_code == 422
    assert api.get("/api/risk/inbox", params={"since": "yesterday-ish"}, headers=x).status_code == 422
    assert api.get("/api/risk/inbox", params={"limit": 100000}, headers=x).status_code == 422


def test_state_errors_are_chinese(risk_home, make_api):
    api = make_api(risk_home.home)
    assert loop.run(risk_home, "mules", AS_OF)["status"] == "ok"
    x = api.headers("xingzhen01")
    wid = api.get("/api/risk/inbox", headers=x).json()["items"][0]["id"]
    assert (
        api.post(f"/api/risk/warnings/{wid}/state", headers=x, data={"state": "triaged"}).status_code == 200
    )
    r = api.post(f"/api/risk/warnings/{wid}/state", headers=x, data={"state": "triaged"})
    assert r.status_code == 409 and "研判中" in r.text and "cannot" not in r.text
    r = api.post(f"/api/risk/warnings/{wid}/state", headers=x, data={"state": "closed"})
    assert r.status_code == 409 and "结论" in r.text


def test_running_a_model_needs_its_permission_and_runs_in_the_background(risk_home, make_api, monkeypatch):
    api = make_api(risk_home.home)
    for user in ("paichusuo01", "xingzhen01", "weijian01"):
        assert api.post("/api/risk/models/blackspots/run", headers=api.headers(user)).status_code == 403, user
    cards = api.get("/api/risk/models", headers=api.headers("paichusuo01")).json()
    assert not any(c["can_run"] for c in cards)
    assert all(c["can_run"] for c in api.get("/api/risk/models", headers=api.headers("fenxi01")).json())

    from zhijing.derived.risk import blackspots as bs

    slow = bs.warnings

    def warnings_slowly(settings, as_of):
        time.sleep(3)
        return slow(settings, as_of)

    monkeypatch.setattr(bs, "warnings", warnings_slowly)
    h, other = api.headers("zhihui01"), api.headers("fenxi01")
    t0 = time.monotonic()
    r = api.post("/api/risk/models/blackspots/run", headers=h)
    assert r.status_code == 202 and time.monotonic() - t0 < 3  # answered before the model finished
    run = r.json()
    assert run["status"] == "running" and run["run_id"].startswith("blackspots-")
    same = api.post("/api/risk/models/blackspots/run", headers=other).json()
    assert same["run_id"] == run["run_id"]  # one run at a time per model
    for _ in range(100):
        state = api.get(f"/api/risk/runs/{run['run_id']}", headers=api.headers("paichusuo01")).json()
        if state["status"] != "running":
            break
        time.sleep(0.2)
    assert state["status"] == "ok" and state["warnings"] == 10 and state["finished_at"]
    assert api.get("/api/risk/runs/nope", headers=h).status_code == 404
    assert api.post("/api/risk/models/nope/run", headers=h).status_code == 404


def test_the_demo_step_records_evaluations_with_progress(risk_home, risk_city, monkeypatch):
    _, truth = risk_city
    city = truth.root.parent
    fakes = {
        name: (lambda settings, t, name=name: {"precision": 0.5, "who": name}) for name in evaluate.EVALUATORS
    }
    monkeypatch.setattr(evaluate, "EVALUATORS", fakes)
    ran = []
    monkeypatch.setattr(
        loop, "run", lambda settings, name, truth=None: ran.append(name) or {"status": "ok", "warnings": 0}
    )
    out = io.StringIO()
    loop.demo_models(risk_home, city, Console(file=out, width=100, force_terminal=False))
    assert ran == list(MODELS)
    cards = {c["name"]: c for c in loop.model_cards(risk_home)}
    assert set(cards) == set(MODELS) and all(
        c["evaluation"] == {"precision": 0.5, "who": n} for n, c in cards.items()
    )  # every model back-tested (the hot spots' too: seconds since its kernels are sparse), no command to run
    assert "7/7" in out.getvalue()


def test_real_evaluations_survive_a_run(risk_home, risk_city):
    _, truth = risk_city
    loop.register(risk_home, "mules", evaluate.eval_mules(risk_home, truth))
    assert loop.run(risk_home, "mules", AS_OF)["status"] == "ok"
    card = {c["name"]: c for c in loop.model_cards(risk_home)}["mules"]
    assert card["evaluation"]["precision"] > 0


def test_blackspot_fit_warns_of_nothing(monkeypatch):
    """The demo city's cells (mostly zero accidents, 0-3 addresses) made the simplex probe
    dispersions where the NB log-likelihood is -inf; numpy warned on the console."""
    acc = np.zeros(3700)
    acc[:8], acc[8:80], acc[80:95] = [12, 11, 10, 9, 9, 8, 8, 8], 1, 2
    exposure = np.ones(3700)
    exposure[::9], exposure[::50], exposure[::97] = 2, 0, 3
    frame = pd.DataFrame({"cell": "8928308280fffff", "accidents": acc, "exposure": exposure})
    monkeypatch.setattr(blackspots, "cells", lambda settings: frame.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = blackspots.rank(None)
    assert len(r) == 3700 and np.isfinite(r.eb).all() and r.accidents.iloc[0] >= 8
