"""Three tiers, live (issue 20, Done when), in Debian's Chromium: a replayed 110 call appears on
the city command screen, the recommended unit (the fastest by the street graph) is dispatched
with one click and drives on the map, the unit's phone (390 px, the patrol login xunluo01)
accepts it — once while offline, the action queued and sent when the connection returns —
arrives and clears it with a note and a photo, and the response-time KPIs move; a watch on the
planted burglary crew's car, approved by a second officer, hits when a replayed checkpoint read
of that car lands. The station duty room sees its own jurisdiction only.

Screenshots of the three screens go to ``ZHIJING_SHOTS`` (docs/img for docs/dispatch.md)."""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
import time
import zlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _photo(w: int = 160, h: int = 120) -> bytes:
    """The feedback photo the officer takes: a small PNG (a dusk-blue gradient), made here."""
    rows = b"".join(b"\0" + bytes(c for x in range(w) for c in (40 + x // 4, 70 + y // 3, 120 + (x + y) // 6)) for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_DISPATCH__SIMULATE", "true")
        with live_server(resolved_city[0].home) as (url, logins):
            yield url, logins


@pytest.fixture(scope="module")
def city(server):
    """The demo's replay path (zhijing demo's LiveCity) with nothing of the lake's sent on its
    own: the tests send the call and the read they follow."""
    from zhijing.config import get_settings
    from zhijing.demo import LiveCity

    live = LiveCity(get_settings(), lake=False).start()
    yield live
    live.stop()


@pytest.fixture(scope="module", autouse=True)
def _hang_up(page):
    """The screens' live streams end before the server stops (else it waits for them)."""
    yield
    page.goto("about:blank")


def _shots(name: str, page) -> None:
    """The screen as docs/dispatch.md shows it (``ZHIJING_SHOTS=docs/img``; else a temporary folder)."""
    out = Path(os.environ.get("ZHIJING_SHOTS") or Path(tempfile.gettempdir()) / "zhijing-shots")
    out.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(out / name), full_page=True)


def _open(page, server, user: str, path: str) -> None:
    """Log in straight to a screen (as a bookmarked link: /login?next=…)."""
    base, logins = server
    page.goto(f"{base}/login?next={path}")
    page.evaluate("sessionStorage.clear()")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", logins[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")


def _until(page, js: str, arg=None, timeout_s: float = 30):
    """Polls ``js`` (a function of ``arg``) until it answers truthy: the console's CSP (script-src
    'self') refuses the eval that page.wait_for_function uses."""
    deadline = time.monotonic() + timeout_s
    while not (got := page.evaluate(js, arg)):
        assert time.monotonic() < deadline, f"not so after {timeout_s} s: {js}"
        page.wait_for_timeout(200)
    return got


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110_540)


def _call_near(settings, unit: dict, lo: float = 600, hi: float = 3000) -> dict:
    """A call of the generated city's 110 record a short drive from the unit (so the unit's
    station answers it), one a patrol attends (not a silent call): the replay sends it as it
    sends every call."""
    from zhijing.command import replay

    here = (unit["lon"], unit["lat"])
    near = [c for c in replay.calls_from_model(settings) if c.get("lon") is not None and c.get("reported") != "无效报警"
            and lo <= _metres((c["lon"], c["lat"]), here) <= hi]  # fmt: skip
    assert near, "no 110 call near the unit's station"
    return min(near, key=lambda c: _metres((c["lon"], c["lat"]), here))


def _marker(page, unit_id: str) -> tuple[float, float] | None:
    return page.evaluate("([u]) => { const m = zj.command.unitMarks.get(u); if (!m) return null; const p = m.getLatLng(); return [p.lng, p.lat]; }",
                         [unit_id])  # fmt: skip


def _kpi_n(page, metric: str) -> int:
    n = page.get_attribute(f"#kpis [data-kpi='{metric}']", "data-n") if page.locator(f"#kpis [data-kpi='{metric}']").count() else None
    return int(n or 0)


def test_a_replayed_call_is_dispatched_driven_and_closed_from_the_phone(page, server, city, browser, resolved_city):
    from zhijing.command import store

    settings = resolved_city[0]
    base, logins = server
    _open(page, server, "zhihui01", "/console/command")
    page.wait_for_selector("#live.on")
    _until(page, "() => zj.command && zj.command.unitMarks.size > 0")
    assert "全市当前没有未结警情" in page.inner_text("#incidents") or page.locator("#incidents li.inc").count() >= 0
    before = {m: _kpi_n(page, m) for m in ("call_processing", "total_response")}

    car = store.unit_of_user(settings, "xunluo01")
    assert car is not None, "the patrol login is no unit's phone"
    call = _call_near(settings, car)
    city.send_calls([call])  # the path of every replayed call: published, triaged, recorded, pushed
    item = page.locator("#incidents li.inc").filter(has_text=call.get("address") or call["narrative"][:12]).first
    item.wait_for()
    incident = item.get_attribute("data-id")
    item.click()
    page.wait_for_selector("#recs [data-assign]")
    recs = page.evaluate("zj.command.detail.recommendations")
    best = min(r["travel_s"] for r in recs)
    mine = next(r for r in recs if r["unit"] == car["id"])
    assert mine["travel_s"] == best  # the station's car is the fastest by road (its mate at the same node ties)
    assert "直线" in page.inner_text("#recs")  # the straight-line choice beside it
    start = _marker(page, car["id"])
    page.click(f"#recs [data-assign='{car['id']}']")
    page.wait_for_selector("#asg tbody tr:has-text('已派警')")

    phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    phone = phone_ctx.new_page()
    phone.set_default_timeout(20_000)
    phone.errors = []
    phone.on("pageerror", lambda exc: phone.errors.append(str(exc)))
    _open(phone, server, "xunluo01", "/m")
    phone.wait_for_selector("#job [data-step='accept']")
    assert call["narrative"][:10] in phone.inner_text("#job")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    phone_ctx.set_offline(True)  # a dead spot: the action waits on the phone
    phone.click("#job [data-step='accept']")
    phone.wait_for_selector("#queue:not([hidden]) li")
    assert phone.locator("#job [data-step='arrive']").count() == 1  # the screen moved on at once
    phone_ctx.set_offline(False)
    phone.wait_for_selector("#queue", state="hidden")

    _until(page, "([u, s]) => { const m = zj.command.unitMarks.get(u); const p = m && m.getLatLng();"
           " return p && (Math.abs(p.lng - s[0]) + Math.abs(p.lat - s[1])) > 1e-4; }", [car["id"], start])  # fmt: skip
    assert _metres(_marker(page, car["id"]), start) > 10  # it drives on the city screen
    _shots("dispatch-city.png", page)

    phone.wait_for_selector("#job [data-step='arrive']")
    phone.click("#job [data-step='arrive']")
    phone.wait_for_selector("#fb textarea")
    phone.fill("#fb textarea", "已到场核实处置，当事人无异议")
    phone.set_input_files("#fb input[type=file]", files=[{"name": "scene.png", "mimeType": "image/png", "buffer": _photo()}])
    phone.wait_for_selector("#preview:not([hidden])")
    _shots("dispatch-phone.png", phone)
    phone.click("#fb [data-then='clear']")
    phone.wait_for_selector("#job .empty")
    phone.wait_for_selector("#history li:not(.empty)")
    assert not phone.errors, phone.errors

    page.wait_for_selector("#asg tbody tr:has-text('已到场核实处置')")
    assert "照片" in page.inner_text("#asg")
    a = store.incident(settings, incident)["assignments"][0]
    assert a["state"] == "cleared" and a["photo"] and a["en_route_at"] and a["on_scene_at"]
    _until(page, "([n]) => +(document.querySelector(\"#kpis [data-kpi='total_response']\")?.dataset.n || 0) > n", [before["total_response"]])
    assert _kpi_n(page, "call_processing") > before["call_processing"]
    page.click("#incident #close")
    page.wait_for_selector(f"#incidents li[data-id='{incident}']", state="detached")
    assert not page.errors, page.errors
    phone_ctx.close()


def test_a_watch_on_the_crews_car_hits_when_a_replayed_read_lands(page, server, city, resolved_city):
    from zhijing.command import replay

    settings, city_dir = resolved_city[0], resolved_city[1]
    base, _ = server
    plate = json.loads((city_dir / "truth" / "structures" / "burglary_crew.json").read_text(encoding="utf-8"))["plate"]
    _open(page, server, "zhihui01", "/console/command")
    page.wait_for_selector("#live.on")
    page.select_option("#watch-form select[name=kind]", "plate")
    page.fill("#watch-form input[name=value]", plate)
    page.fill("#watch-form input[name=reason]", "系列入室盗窃团伙作案车辆")
    page.fill("#watch-form input[name=approver]", "zhihuizhang01")
    page.click("#watch-form button[type=submit]")
    page.wait_for_selector(f"#watches tbody tr:has-text('{plate}'):has-text('待审批')")

    _open(page, server, "zhihuizhang01", "/console/command")  # the second officer approves (separation of duties)
    page.click(f"#watches tr:has-text('{plate}') [data-approve]")
    page.wait_for_selector(f"#watches tbody tr:has-text('{plate}'):has-text('布控中')")
    page.wait_for_selector("#live.on")
    reads = [r for r in replay.reads_from_model(settings) if r.get("vehicle") == plate]
    assert reads, "the crew's car is never read at a checkpoint"
    city.send_reads(reads[:1])
    page.wait_for_selector(f"#hits li.hit-item:has-text('{plate}')")
    assert page.evaluate("zj.command.hitMarks.length") >= 1  # and on the map
    page.click(f"#hits li.hit-item:has-text('{plate}') [data-hit]")  # one click: an incident at the checkpoint, units to intercept
    page.wait_for_selector("#incident:not([hidden]) #recs [data-assign]")
    assert page.evaluate("zj.command.detail.source") == "watch"
    assert not page.errors, page.errors


def test_the_station_duty_room_commands_its_own_jurisdiction(page, server, city, resolved_city):
    """The duty room sees its station's units only, takes a call of its jurisdiction, sends a
    unit, reassigns the call to another (the first is free again) and withdraws that one."""
    from zhijing.command import store

    settings = resolved_city[0]
    _open(page, server, "paichusuo01", "/console/duty")
    page.wait_for_selector("#live.on")
    _until(page, "() => zj.command && zj.command.unitMarks.size > 0")
    stations = page.evaluate("[...zj.command.units.values()].map((u) => u.station)")
    assert len(set(stations)) == 1  # its own station's units, no other
    assert "派出所勤务指挥室" in page.inner_text("main")

    car = store.unit_of_user(settings, "xunluo01")  # the same station's patrol car: a call near it is the station's
    call = _call_near(settings, car)
    city.send_calls([{**call, "id": f"{call['id']}:again"}])
    item = page.locator("#incidents li.inc").first
    item.wait_for()
    incident = item.get_attribute("data-id")
    item.click()
    page.wait_for_selector("#recs [data-assign]")
    first = page.get_attribute("#recs [data-assign] >> nth=0", "data-assign")
    page.click("#recs [data-assign] >> nth=0")
    page.wait_for_selector("#recs [data-replaces]")  # a unit is out: 改派 offered beside 增派
    second = page.get_attribute("#recs [data-replaces] >> nth=0", "data-assign")
    page.click("#recs [data-replaces] >> nth=0")
    page.wait_for_selector("#asg tbody tr:has-text('已改派')")
    _shots("dispatch-duty.png", page)
    assert store.unit(settings, first)["status"] == "available" and store.unit(settings, second)["status"] != "available"
    page.click("#asg [data-cancel]")
    page.wait_for_selector("#asg tbody tr:has-text('已撤回')")
    assert store.unit(settings, second)["status"] == "available"
    page.click("#incident #close")
    page.wait_for_selector(f"#incidents li[data-id='{incident}']", state="detached")
    assert not page.errors, page.errors
