"""Hot spots, near-repeat, black-spots and crowd counts against the planted processes —
places and counts only, never a person."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zhijing.config import Settings
from zhijing.derived.risk import blackspots, crowd, hotspots
from zhijing.derived.risk.evaluate import lone_burglaries_per_day


@pytest.fixture(scope="module")
def scored(risk_city):
    settings, _ = risk_city
    return hotspots.evaluate(settings)


def test_self_exciting_beats_kde_on_held_out_weeks(scored):
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in scored.items()})
    assert scored["held_out_events"] >= 20
    # 5 % of the land is ~500 km²: both cover every earlier burglary's surroundings there; the
    # self-exciting model's dwelling background also covers the homes far from any earlier one
    assert scored["hawkes_pai_0.05"] > scored["kde_pai_0.05"] and scored["hawkes_pei_0.05"] >= 0.9
    assert scored["hawkes_pai_0.01"] > scored["kde_pai_0.01"]
    for a in ("0.01", "0.05"):
        assert 0 <= scored[f"kde_pei_{a}"] <= 1 and 0 <= scored[f"hawkes_pei_{a}"] <= 1


def test_fit_recovers_the_planted_process(risk_city, scored):
    _, truth = risk_city
    planted = truth.json("crime_process")
    fit = scored["fit"]
    assert abs(fit["branching"] - planted["branching"]) < 0.15
    assert planted["mean_days"] / 2 < fit["mean_delay_days"] < planted["mean_days"] * 2
    assert planted["sigma_m"] / 2 < fit["sigma_m"] < planted["sigma_m"] * 2
    # burglaries at a home far from the hot areas and not triggered: the dwellings' background
    lone = lone_burglaries_per_day(truth.table("crime_events"))
    assert lone / 2 < fit["dwelling_per_day"] < lone * 2


def test_knox_finds_near_repeats(risk_city):
    settings, _ = risk_city
    k = hotspots.knox(settings, permutations=49)
    assert k["p_value"] <= 0.05 and k["ratio"] > 2


def test_forecast_map_layer_has_no_person(risk_city):
    settings, _ = risk_city
    cells = hotspots.forecast(settings, pd.Timestamp("2026-05-01"))
    assert cells and set(cells[0]) == {"lon", "lat", "expected"}


def test_empty_history_and_empty_windows(tmp_path):
    empty = Settings(home=tmp_path / "none")
    assert hotspots.incidents(empty).empty
    assert blackspots.rank(empty).empty
    assert crowd.counts(empty).empty
    model = hotspots.fit(np.zeros((1, 2)), np.zeros(1))
    assert (
        model.triggered(np.zeros((3, 2)), np.zeros((1, 2)), np.array([10.0]), 5.0, 5.0).sum() == 0
    )  # nothing before


def test_planted_blackspots_rank_in_top_ten(risk_city):
    settings, truth = risk_city
    r = blackspots.rank(settings)
    top = r.head(10)
    spots = truth.table("blackspots")
    metres = np.hypot((top.lon.to_numpy()[None, :] - spots.lon.to_numpy()[:, None]) * 111_000 * np.cos(np.radians(30)),
                      (top.lat.to_numpy()[None, :] - spots.lat.to_numpy()[:, None]) * 111_000)  # fmt: skip
    found = (metres < 250).any(axis=1)
    false_pos = int((~(metres < 250).any(axis=0)).sum())
    print(f"black-spots in top 10: {found.sum()}/{len(spots)}; false positives among the 10: {false_pos}")
    assert found.all()


def test_crowd_alerts_at_the_gathering_only(risk_city):
    settings, truth = risk_city
    g = truth.json("crowd_gathering")
    a = crowd.alerts(settings)
    assert set(a.columns) == {"cell", "window", "source", "count"}  # no holder, phone or plate
    start = pd.Timestamp(g["start"], tz="Asia/Shanghai").tz_convert("UTC")
    inside = (a.window >= start - pd.Timedelta(minutes=5)) & (
        a.window < start + pd.Timedelta(minutes=g["minutes"])
    )
    assert len(a) >= 4 and inside.all() and a.cell.nunique() == 1
