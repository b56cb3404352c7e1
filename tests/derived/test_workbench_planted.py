"""The workbench against the suspects the city plants for it (truth/structures/
burglary_crew.json and fugitive.json): collision over the series' scenes puts the crew's
plate and its owner first, the crew lodge together, and the fugitive's companion — across
the IDs they were written under — is the accomplice. Skipped, with the reason, on a city
generated before those suspects were planted."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest

from zhijing.access.seed import DEMO_CASE
from zhijing.derived.workbench import companions
from zhijing.derived.workbench.subjects import Subject
from zhijing.lake.store import current_files

LOCAL = ZoneInfo("Asia/Shanghai")


def _truth(city, name: str) -> dict:
    path = city / "truth" / "structures" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"this city plants no {name} (truth/structures/{name}.json): generated before the suspects were planted")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def crew(resolved_city) -> dict:
    return _truth(resolved_city[1], "burglary_crew")


@pytest.fixture(scope="session")
def fugitive_pair(resolved_city) -> dict:
    return _truth(resolved_city[1], "fugitive")


def _scene_windows(workbench, event_ids: list[int], per_scene: int = 2, minutes: int = 60) -> list[dict]:
    """One window per scene, as an analyst draws it: the checkpoints nearest the scene,
    from an hour before to an hour after the burglary."""
    events = pd.read_parquet(workbench.truth("crime_events")).set_index("event_id").loc[event_ids]
    cps = duckdb.sql(f"SELECT checkpoint_id, lon::DOUBLE AS lon, lat::DOUBLE AS lat "
                     f"FROM read_parquet({current_files(workbench.settings, 'clean', 'checkpoints')!r})").df()  # fmt: skip
    out = []
    for ev in events.itertuples():
        near = cps.iloc[np.argsort(np.hypot(cps.lon - ev.lon, cps.lat - ev.lat))[:per_scene]].checkpoint_id.tolist()
        t = pd.Timestamp(ev.time).tz_localize(LOCAL) if pd.Timestamp(ev.time).tzinfo is None else pd.Timestamp(ev.time)
        out.append({"kind": "checkpoint", "value": near, "label": f"现场{ev.Index}",
                    "start": (t - timedelta(minutes=minutes)).isoformat(), "end": (t + timedelta(minutes=minutes)).isoformat()})  # fmt: skip
    return out


def test_collision_over_the_series_scenes_ranks_the_crew_first(crew, workbench, wb_api):
    windows = _scene_windows(workbench, crew["event_ids"])
    r = wb_api.post("/api/collision", json={"windows": windows, "k": max(2, len(windows) - 1)},
                    headers=wb_api.headers("xingzhen01", DEMO_CASE))  # fmt: skip
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    owner_masters = set(workbench.masters_of_persons([crew["members"][0]]).get(crew["members"][0], []))
    top = hits[:2]
    assert {h["kind"] for h in top} == {"plate", "person"}
    assert next(h for h in top if h["kind"] == "plate")["subject"] == crew["plate"]
    assert next(h for h in top if h["kind"] == "person")["subject"] in owner_masters
    assert top[0]["windows"] == len(windows) or top[0]["windows"] >= len(windows) - 1
    best_other = max((h["windows"] for h in hits[2:]), default=0)
    assert best_other < top[1]["windows"]  # nobody else is at the scenes as often


def test_the_crew_lodge_together(crew, workbench):
    masters = workbench.masters_of_persons(crew["members"])
    owner = masters[crew["members"][0]][0]
    others = {m for p in crew["members"][1:] for m in masters.get(p, [])[:1]}
    ranked = [c["subject"] for c in companions.companions(workbench.settings, Subject("person", (owner,)))["companions"]]
    assert others <= set(ranked[: len(others)])


def test_companions_of_the_fugitive_rank_the_accomplice_first_across_id_variants(fugitive_pair, workbench, wb_api):
    fug = fugitive_pair
    masters = workbench.masters_of_persons([fug["fugitive"], fug["accomplice"]])
    fugitive, accomplice = masters[fug["fugitive"]], set(masters[fug["accomplice"]])
    r = wb_api.get("/api/companions", params={"subject": "person:" + ",".join(fugitive[:5])},
                   headers=wb_api.headers("xingzhen01", DEMO_CASE))  # every master the variants were resolved to  # fmt: skip
    assert r.status_code == 200, r.text
    top = r.json()["companions"][0]
    assert top["subject"] in accomplice
    assert top["events"] >= fug["trips"] + fug["stays"] - 1 and {"同乘", "同住"} <= set(top["kinds"])
