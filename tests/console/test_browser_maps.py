"""The maps in Chromium: a trajectory with a departure from another city fits the city (the
far points listed in the map's corner) and plays back on its time slider; the map layers cost
≤ 300 KB the first time and nothing on the next screen; the risk screen shows its inbox and
its hot-spot map at once (the forecast warmed as the server's clock does), places by name."""

from __future__ import annotations

import time

import pytest

from tests.browser_ui import login

BUDGET = 300_000
GEO_BYTES = """() => performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/geo/v/"))
  .map((e) => [e.name, e.transferSize])"""


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    from zhijing.config import Settings
    from zhijing.derived.risk import hotspots, loop
    from zhijing.derived.workbench import presence
    from zhijing.lake.store import current_files

    if not current_files(resolved_city[0], "derived", "presence"):  # the trajectories (other suites may have built it)
        presence.build(resolved_city[0])
    with live_server(resolved_city[0].home) as (url, logins):
        s = Settings(home=resolved_city[0].home)
        for name in ("crowd", "blackspots"):
            loop.run(s, name)
        assert hotspots.cached_forecast(s, hotspots.today(), wait_s=300)["state"] == "ok"  # the clock's warm-up
        yield url, logins


@pytest.fixture(scope="module")
def travellers(resolved_city) -> list[str]:
    """Masters with a train ride from another city (a point far outside the city)."""
    from zhijing.derived.risk import data

    found = data.query(resolved_city[0], """SELECT l.master_id, count(*) AS n FROM t JOIN l ON l.mention_id = t.passenger
        WHERE t.lat > 30.9 OR t.lat < 28.4 OR t.lon < 120.5 OR t.lon > 122.6 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2""",
                       t="trip", l="entities/person_links")  # fmt: skip
    return found.master_id.tolist()


@pytest.mark.browser
def test_trajectory_fits_the_city_plays_back_and_layers_come_from_the_cache(server, page, travellers):
    from zhijing.access.seed import DEMO_CASE

    base, _ = server
    login(page, server, "xingzhen01", DEMO_CASE)
    started = time.monotonic()
    page.goto(f"{base}/trajectory?subject={travellers[0]}")
    page.wait_for_selector("#traj-playback:not([hidden])")
    page.wait_for_selector("#points tbody tr[data-i]")
    shown = time.monotonic() - started
    far = page.inner_text("#map-far")  # the departure from another city: listed, not zoomed to
    assert "km" in far and page.evaluate("zj.map.current.getZoom()") >= 9, far
    n = int(page.get_attribute("#traj-slider", "max")) + 1
    assert n >= 2 and page.input_value("#traj-slider") == "0"
    page.select_option("#traj-speed", "16")
    page.click("#traj-play")
    for _ in range(100):  # the page's CSP forbids wait_for_function's eval: poll the slider
        if int(page.input_value("#traj-slider")) >= 2:
            break
        page.wait_for_timeout(100)
    page.click("#traj-play")  # pause
    at = page.input_value("#traj-slider")
    assert page.inner_text("#traj-now").startswith(f"{int(at) + 1} / {n}")
    assert page.locator("#points tbody tr.now").count() == 1
    page.fill("#traj-slider", "1")  # the slider moves the point
    page.dispatch_event("#traj-slider", "input")
    assert page.inner_text("#traj-now").startswith(f"2 / {n}")
    page.evaluate("zj.map.current.layersDrawn")
    first = page.evaluate(GEO_BYTES)
    started = time.monotonic()
    page.goto(f"{base}/compare?a={travellers[0]}&b={travellers[-1]}")
    page.wait_for_selector("#coincidences tbody tr")
    compare_shown = time.monotonic() - started
    page.evaluate("zj.map.current.layersDrawn")
    second = page.evaluate(GEO_BYTES)
    again = [b for name, b in second if name in dict(first)]
    print(f"trajectory shown in {shown:.2f} s, compare in {compare_shown:.2f} s; map layers: first screen "
          f"{sum(b for _, b in first)} B in {len(first)} files, next screen {sum(b for _, b in second)} B")
    assert first and sum(b for _, b in first) <= BUDGET and sum(b for _, b in second) <= BUDGET
    assert again and sum(again) == 0  # the files of the first screen: from the browser's cache
    assert not page.errors, page.errors


@pytest.mark.browser
def test_risk_screen_shows_inbox_places_and_the_hot_map(server, page):
    base, _ = server
    login(page, server, "admin")
    started = time.monotonic()
    page.goto(f"{base}/risk")
    page.wait_for_selector("#inbox tbody tr.click")
    page.wait_for_selector("#hotmap.hot-drawn")
    shown = time.monotonic() - started
    print(f"risk screen: inbox and hot map in {shown:.2f} s")
    assert page.evaluate("zj.map.current.getZoom()") > 0 and "zhijing" not in page.inner_text("main")  # no command to run
    rows = page.inner_text("#inbox tbody")
    assert "派出所" in rows and "个时段" in rows  # places by station; a gathering is one row
    assert page.locator("#hot-list li").count() >= 1 and "派出所" in page.inner_text("#hot-list")  # the patrol's list by place
    page.click("#inbox tbody tr:has(.badge)")
    page.wait_for_selector("#members tbody tr")
    assert page.locator("#members tbody tr").count() >= 2
    assert not page.errors, page.errors
