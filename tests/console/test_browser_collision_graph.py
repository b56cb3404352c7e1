"""Collision drawn on the map and the graph explorer, in Debian's Chromium (issue 21): two
planted scenes clicked on the scene layer become windows and find the planted crew, a drawn
rectangle adds a window; find-path from a planted mule to the fraud ring is highlighted and
listed; the graph exports as a PNG; the crew owner's file shows the co-lodging (同住) crew."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from browser_ui import login

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files

pytestmark = pytest.mark.browser
FRAUD_CASE = "case:A330200000000002"


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    from zhijing.derived.graph import edges, service
    from zhijing.derived.workbench import presence

    settings = resolved_city[0]
    presence.build(settings)  # a no-op when the workbench suites built it
    try:
        service.graph(settings)
    except Exception:  # noqa: BLE001 - not built in this session yet
        edges.run(settings, "duckdb")
    with live_server(settings.home) as (url, logins):
        yield url, logins


def _planted(resolved_city) -> tuple[dict, list[str], str, str, str]:
    settings, city, _ = resolved_city
    crew = json.loads((city / "truth" / "structures" / "burglary_crew.json").read_text())
    cases = pd.read_parquet(city / "truth" / "structures" / "crime_cases.parquet").set_index("event_id").AJBH
    fraud = json.loads((city / "truth" / "structures" / "fraud_ring.json").read_text())
    truth = pd.read_parquet(city / "truth" / "record_persons.parquet")
    truth["mention_id"] = truth.dataset + "|" + truth.record_id.astype(str) + "|" + truth.role
    links = duckdb.connect().execute(f"SELECT mention_id, master_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").df()
    master = truth.merge(links, on="mention_id").groupby("person_id").master_id.agg(lambda s: s.value_counts().index[0])
    return crew, [cases[e] for e in crew["event_ids"][:2]], master[fraud["mules"][0]], master[fraud["ring"][0]], master[crew["members"][0]]


def test_collision_from_two_scenes_and_a_path_to_the_ring(page, server, resolved_city):
    base, _ = server
    crew, scenes, mule, collector, owner = _planted(resolved_city)
    times = pd.to_datetime([r["time"] for r in crew["reads"]])
    first_day, last_day = (times.min() - pd.Timedelta(days=1)).strftime("%Y-%m-%d"), (times.max() + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/collision")
    page.wait_for_selector(".scene-marker")  # the scene layer: the burglaries like this case's
    page.fill("#scene-from", first_day)  # the series' weeks (the layer shows the newest 500 in view)
    page.fill("#scene-to", last_day)
    page.dispatch_event("#scene-to", "change")
    page.wait_for_selector(f".scene-marker span[data-scene='{scenes[0]}']")
    for sid in scenes:
        page.locator(f".scene-marker span[data-scene='{sid}']").dispatch_event("click")
    assert page.locator("#windows tbody tr").count() == 2
    page.fill("#k", "2")
    page.click("#run")
    page.wait_for_selector("#hits tbody tr:not(.loading)")
    top = page.locator("#hits tbody tr").all_inner_texts()[:2]
    assert any(crew["plate"] in row for row in top), top
    page.click("#hits tbody tr >> nth=0")
    how = page.locator("#evidence tbody tr td:nth-child(2)").all_inner_texts()
    assert how and all("卡口" in x for x in how)  # 方式: how each record matched, never empty

    page.click("#draw-rect")  # a window drawn on the map
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + 200, box["y"] + 150)
    page.mouse.click(box["x"] + 260, box["y"] + 210)
    page.wait_for_function("() => zj.collision.windows.length === 3")
    assert page.evaluate("zj.collision.windows[2].spec.kind") == "polygon"

    page.evaluate("([p]) => sessionStorage.setItem('zj.purpose', p)", [FRAUD_CASE])
    page.goto(f"{base}/graph?subject=P:{mule}")
    page.wait_for_function("() => zj.graph && zj.graph.nodes().length > 1")
    assert "同住" in page.inner_text("#graph-legend") and page.locator("#graph-types input[type=checkbox]").count() >= 5
    page.fill("#path-b", f"P:{collector}")
    page.click("#path-go")
    page.wait_for_selector("#path-list li")
    steps = page.locator("#path-list li").count()
    assert 1 <= steps <= 5 and page.evaluate("zj.graph.elements('.path').length") == 2 * steps + 1
    assert "证据" in page.inner_text("#path-list")
    with page.expect_download() as got:
        page.click("#graph-png")
    assert got.value.suggested_filename.endswith(".png")
    assert Path(got.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.evaluate("([p]) => sessionStorage.setItem('zj.purpose', p)", [DEMO_CASE])
    page.goto(f"{base}/persons/{owner}")  # the file's small graph: the crew lodged together (同住)
    page.wait_for_function("() => (echarts.getInstanceByDom(document.getElementById('graph'))?.getOption().series[0].links || [])"
                           ".some((l) => l.label.formatter === '同住')")  # fmt: skip
    assert not page.errors, page.errors
