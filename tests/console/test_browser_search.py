"""The header's one search box and the language switch, in Debian's Chromium: the login page
switches language before anyone logs in; the box is the first field of every page's header
(no 17 tabs to reach it), a crime word finds incidents grouped by kind with the intent shown,
and the grouped menu keeps every screen one click away."""

from __future__ import annotations

import pytest
from browser_ui import login, nav

from zhijing.access.seed import DEMO_CASE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    from zhijing.derived.workbench import index_sync

    settings = resolved_city[0]
    index_sync.update(settings, datasets=["hukou_person", "vehicle_registration", "incident_110", "case_info"])  # as built, or brought up to date
    with live_server(settings.home) as (url, logins):
        yield url, logins


def test_login_page_switches_language(page, server):
    base, _ = server
    page.goto(f"{base}/login")
    page.evaluate("localStorage.setItem('zj.lang', 'zh')")
    page.reload()
    assert page.inner_text("button[type=submit]") == "登录"
    page.click("#lang")
    assert page.inner_text("button[type=submit]") == "Log in" and page.inner_text("#lang") == "中文"
    page.click("#lang")
    assert page.inner_text("button[type=submit]") == "登录"


def test_header_search_reads_the_intent_and_groups_by_kind(page, server):
    base, _ = server
    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/trajectory")
    page.wait_for_selector("#who:not(:empty)")
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "header-q"  # the second stop of the page, not the 17th
    page.keyboard.type("抢劫")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=*")
    page.wait_for_selector("#search-intents .intent[data-intent='crime']")
    page.wait_for_selector("#groups .kind-section")
    first = page.locator("#groups .kind-section").first
    assert first.get_attribute("data-kind") in ("incident", "case")
    assert "警情/案件" in first.locator(".intent-label").inner_text()
    assert page.locator("#groups .group[data-kind='person']").count() == 0  # not 吴杰 / 伍杰
    assert "|" not in first.locator(".group h3").first.inner_text()  # a dataset's title, never its code
    nav(page, "/companions")  # every screen stays one group away
    page.wait_for_url("**/companions*")  # a deep link carries the purpose
    assert not page.errors, page.errors


def test_english_mode_names_kinds_and_datasets_in_english(page, server):
    base, _ = server
    login(page, server, "xingzhen01", DEMO_CASE, lang="en")
    page.goto(f"{base}/search?q=%E6%8A%A2%E5%8A%AB")  # 抢劫
    page.wait_for_selector("#groups .kind-section")
    assert page.get_attribute("#header-q", "placeholder").startswith("Search")
    heading = page.locator("#groups .kind-section h2").first.inner_text()
    assert heading.startswith(("Incident", "Case")) and "Crime or incident" in heading
    hit = page.locator("#groups .hit .ds").first.inner_text()
    assert hit and not any("\u4e00" <= c <= "\u9fff" for c in hit), hit  # the dataset's English title
    assert page.inner_text("header nav details[data-group='analysis'] summary") == "Analysis"
    page.evaluate("localStorage.setItem('zj.lang', 'zh')")
