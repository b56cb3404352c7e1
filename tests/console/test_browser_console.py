"""A console officers can work in (issue 13, part 9) and the detective's path (part 10), in
Debian's Chromium: one server, one browser and one page for the module. Each finding of the
officers' trial is a test that failed before it was mended."""

from __future__ import annotations

import json

import pytest
from browser_ui import build_analyses, login, toast

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    with live_server(resolved_city[0].home) as (url, logins):
        yield url, logins


def test_validation_and_refusals_read_in_the_interface_language(page, server):
    from zhijing.access.seed import DEMO_CASE

    base, _ = server
    login(page, server, "xingzhen01")
    page.goto(f"{base}/persons")
    page.fill("input[name=q]", "张伟")
    page.click("#person-search button")
    refused = toast(page)
    assert "用途" in refused and "purpose" not in refused  # the refusal in Chinese
    page.evaluate("([p]) => sessionStorage.setItem('zj.purpose', p)", [DEMO_CASE])
    page.goto(f"{base}/persons")
    page.fill("input[name=q]", "张")
    page.click("#person-search button")
    short = toast(page)
    assert "[object Object]" not in short and "至少 2 个字符" in short
    page.fill("input[name=q]", "查无此人甲乙丙")
    page.click("#person-search button")
    page.wait_for_selector("#results tr.empty")  # an empty state, with a word
    assert "未查到" in page.inner_text("#results")
    assert page.locator("#results thead th").count() >= 5  # column headers
    login(page, server, "xingzhen01", lang="en")
    page.goto(f"{base}/persons")
    page.fill("input[name=q]", "张伟")
    page.click("#person-search button")
    assert "a purpose is required" in toast(page)  # English in EN mode
    page.evaluate("localStorage.setItem('zj.lang', 'zh')")


def test_person_file_deep_link_plate_search_and_english_labels(page, server, resolved_city):
    import sqlalchemy as sa

    from zhijing.access.seed import DEMO_CASE
    from zhijing.serving import store
    from zhijing.serving.tables import person_keys

    base, _ = server
    with store.connect(resolved_city[0]) as conn:
        plate, owner = conn.execute(sa.select(person_keys.c.value, person_keys.c.master_id)
                                    .where(person_keys.c.kind == "plate").limit(1)).one()  # fmt: skip
    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/persons")
    page.fill("input[name=q]", plate)
    page.click("#person-search button")
    page.wait_for_selector("#results tbody tr.click")
    assert owner in page.inner_text("#results")  # a plate finds its owner
    page.goto(f"{base}/persons/{owner}")  # a URL for a person file: the console page, not JSON
    page.wait_for_selector("#file:not([hidden]) #facts dt")
    assert owner in page.inner_text("#file-title")
    assert "公民身份号码" in page.inner_text("#facts")
    assert page.locator("#records thead th").count() == 5  # the record's time first, its header naming the zone
    assert "北京时间 UTC+8" in page.inner_text("#records thead") and page.inner_text("#zone") == "北京时间 UTC+8"
    who = page.inner_text("#who")
    assert "公安" in who or "分局" in who  # the unit's name, not its code
    assert not any(ch.isdigit() for ch in who.split("·")[-1])
    page.evaluate("localStorage.setItem('zj.lang', 'en')")
    page.reload()
    page.wait_for_selector("#file:not([hidden]) #facts dt")
    assert "Citizen ID" in page.inner_text("#facts") and "公民身份号码" not in page.inner_text("#facts")
    assert page.inner_text("#zone") == "Beijing time UTC+8"
    page.goto(f"{base}/")
    page.wait_for_function("() => { const c = echarts.getInstanceByDom(document.getElementById('incident-months'));"
                           " return c && c.getOption().xAxis[0].data.length > 0; }")  # fmt: skip
    months = page.evaluate("echarts.getInstanceByDom(document.getElementById('incident-months')).getOption().xAxis[0].data")
    assert not any("月" in m for m in months), months[:3]
    page.evaluate("localStorage.setItem('zj.lang', 'zh')")


def test_a_phone_sized_screen_has_no_horizontal_overflow(page, server):
    from zhijing.access.seed import DEMO_CASE

    base, _ = server
    login(page, server, "xingzhen01", DEMO_CASE)
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        for path in ("/", "/persons", "/search", "/audit"):
            page.goto(f"{base}{path}")
            page.wait_for_selector("#who:not(:empty)")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
            box = page.locator("#logout").bounding_box()
            assert box and box["x"] + box["width"] <= 390 and box["y"] >= 0, (path, box)  # logout reachable
        page.click("#menu")
        assert page.locator("header nav a[href='/persons']").is_visible()
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


def test_the_audit_page_pages_filters_clips_and_explains_flags(page, server):
    import sqlalchemy as sa

    from zhijing.access import models, oversight
    from zhijing.access.audit.store import AuditEvent, log_for
    from zhijing.config import get_settings

    base, _ = server
    log = log_for(get_settings())
    log.append(AuditEvent(actor="paichusuo01", operation="consult", outcome="allowed", purpose="case:" + "长" * 7000,
                          records=["PM-LONG-PURPOSE"]))  # fmt: skip
    for i in range(230):  # more than one page
        log.append(AuditEvent(actor="xingzhen01", operation="consult", outcome="allowed", purpose="case:T", records=[f"PMX{i}"]))
    seq = log.events(1, "paichusuo01")[0]["seq"]
    with models.engine(get_settings()).begin() as conn:
        oversight.flags.create(conn, checkfirst=True)
        conn.execute(sa.insert(oversight.flags).values(rule="unrelated_read", actor="paichusuo01", subject="PM-LONG-PURPOSE",
                                                       summary="paichusuo01 read PM-LONG-PURPOSE, not named by case:T",
                                                       evidence=json.dumps([seq]), status="open", created_at="2026-01-01T00:00:00Z"))  # fmt: skip
    login(page, server, "ducha01")
    page.goto(f"{base}/audit")
    page.wait_for_selector("#events tbody tr.click")
    assert page.locator("#events thead th").count() == 7 and page.locator("#flags thead th").count() == 7
    assert "打开页面时已校验" in page.inner_text("#verify")  # the chain check says what it counted
    flags = page.inner_text("#flags")
    assert "查询对象不在用途内" in flags and "不在用途" in flags and "not named by" not in flags  # in Chinese
    first = page.inner_text("#events tbody tr:first-child td:first-child")
    page.click("#older")  # paging past the newest 200
    page.wait_for_function(f"() => {{ const t = document.querySelector('#events tbody tr td')?.textContent || ''; "
                           f"return /^[0-9]+$/.test(t) && t !== '{first}'; }}")  # the older page, not its loading row
    assert int(page.inner_text("#events tbody tr:first-child td:first-child")) < int(first) - 199
    page.click(f"#flags a[data-seq='{seq}']")  # evidence links to its audit event
    page.wait_for_selector(f"#events tbody tr:first-child td:text-is('{seq}')")
    assert "PM-LONG-PURPOSE" in page.inner_text("#events tbody tr:first-child")  # the person the event read
    purpose_cell = page.locator("#events tbody tr:first-child .clip").first
    assert len(purpose_cell.get_attribute("title")) > 7000 and purpose_cell.bounding_box()["width"] < 600  # tooltip
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400  # the 7,000-character purpose is clipped
    page.fill("#audit-filter input[name=actor]", "paichusuo01")  # filters: officer and person
    page.fill("#audit-filter input[name=record]", "PM-LONG-PURPOSE")
    page.click("#audit-filter button")
    page.wait_for_function("() => document.querySelectorAll('#events tbody tr.click').length === 1")
    page.fill("#audit-filter input[name=record]", "")
    page.fill("#audit-filter input[name=since]", "2999-01-01T00:00")
    page.click("#audit-filter button")
    page.wait_for_selector("#events tr.empty")  # time range: nothing in the future


def test_the_demo_has_an_analyst_and_a_dispatcher(page, server):
    _, logins = server
    assert {"fenxi01", "zhihui01"} <= set(logins)
    login(page, server, "fenxi01")
    from zhijing.access.seed import DEMO_CASE

    page.wait_for_selector(f"#purpose option[value='{DEMO_CASE}']", state="attached")  # the analyst works the case
    login(page, server, "zhihui01")
    page.wait_for_selector("#purpose option[value^='emergency:']", state="attached")  # the dispatcher the emergency


def test_the_detectives_path(page, server, resolved_city):
    """search → file → pin → trajectory → companions → collision → graph → report."""
    import sqlalchemy as sa

    from zhijing.access.seed import DEMO_CASE
    from zhijing.serving import store
    from zhijing.serving.tables import persons

    base, _ = server
    with store.connect(resolved_city[0]) as conn:
        pid, name = conn.execute(sa.select(persons.c.master_id, persons.c.name).order_by(persons.c.mentions.desc()).limit(1)).one()
    build_analyses(resolved_city[0])
    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/search?q={name}")  # search: results grouped by master entity
    page.wait_for_selector("#groups .group")
    page.click(f"#groups a[href='/persons/{pid}']")
    page.wait_for_selector("#file:not([hidden]) #facts dt")  # the file
    page.click("#pin")  # pinned into the case
    assert "专案" in toast(page)
    page.click("#file-links a[href^='/trajectory']")  # trajectory
    page.wait_for_selector("#points thead th")  # the table drawn (a loading line is a row of its own)
    page.wait_for_selector("#points tbody tr")
    assert page.locator("#points thead th").count() >= 5
    page.goto(f"{base}/companions?subject=person:{pid}")  # companions
    page.wait_for_selector("#companions tbody tr")
    windows = json.dumps([{"kind": "circle", "value": {"lon": 121.55, "lat": 29.87, "radius_m": 3000},
                           "start": "2025-03-01T00:00", "end": "2025-03-20T00:00"}])  # fmt: skip
    page.goto(f"{base}/collision?k=1&run=1&windows={windows}")  # collision
    page.wait_for_selector("#hits tbody tr")
    page.goto(f"{base}/graph?subject=P:{pid}")  # graph
    page.wait_for_function("() => zj.graph && zj.graph.nodes().length > 0")
    page.goto(f"{base}/cases/{DEMO_CASE}")  # the case: the pinned person, then the watermarked report
    page.wait_for_selector(f"#items a[href='/persons/{pid}']")
    page.fill("#report-reason", "移送检察院审查起诉")  # a report is an export: it states its reason
    with page.expect_download() as dl:
        page.click("#report-html")
    assert pid in dl.value.path().read_text(encoding="utf-8") or "<html" in dl.value.path().read_text(encoding="utf-8").lower()
    assert not page.errors, page.errors
