"""The 风险预警 screen after a newcomer's run: Chinese model names and labels, a paged inbox
whose row opens its detail in view, actions the warning's state allows, evaluations on the
model cards, 立即运行 only for those who may, English mode, and a phone-width layout."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def server(browser, risk_server):  # browser first: skips before a server starts
    with risk_server({"mules": {"precision": 0.9, "recall": 0.8, "baseline_precision": 0.1}}) as served:
        yield served


def login(browser, base, logins, user, width=1400, lang="zh"):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/login")
    page.evaluate(f"localStorage.setItem('zj.lang', '{lang}')")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", logins[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/risk")
    page.wait_for_selector("#inbox tbody tr")
    page.wait_for_selector("#models tbody tr")
    return page, errors


@pytest.mark.browser
def test_labels_paging_detail_in_view_and_state_actions(server, browser):
    base, logins = server
    page, errors = login(browser, base, logins, "xingzhen01", width=1400)
    inbox = page.inner_text("#inbox")
    assert "涉诈账户预警" in inbox and "mules" not in inbox
    assert "共" in page.inner_text("#page-info") and page.locator("#inbox tbody tr").count() <= 50
    cards = page.inner_text("#models")
    assert "blackspots" not in cards and "道路事故黑点" in cards
    assert "精确率 0.90" in cards and "召回率 0.80" in cards  # the registered evaluation
    assert page.locator("[data-run]").count() == 0  # 刑侦 officers do not run models
    page.select_option("#inbox-filter select[name=model]", "mules")
    page.click("#inbox-filter button[type=submit]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#inbox tbody tr')].every(r => r.innerText.includes('涉诈账户'))"
    )
    rows = page.locator("#inbox tbody tr")
    rows.nth(rows.count() - 1).click()
    page.wait_for_selector("#detail:not([hidden])")
    page.wait_for_function(
        "() => { const r = document.getElementById('detail').getBoundingClientRect(); return r.top >= -1 && r.top < innerHeight - 50; }"
    )
    assert page.is_enabled("#detail button[data-state=triaged]")
    assert page.is_disabled("#detail button[data-state=acting]")
    page.click("#detail button[data-state=triaged]")
    page.wait_for_function("() => document.querySelector('#detail button[data-state=triaged]').disabled")
    assert page.is_enabled("#detail button[data-state=acting]")
    page.click("#detail button[data-state=triaged]", force=True)  # disabled: nothing is sent
    assert "cannot" not in page.inner_text("#toast")
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_run_button_only_for_analysts_and_command(server, browser):
    base, logins = server
    page, errors = login(browser, base, logins, "paichusuo01")
    assert page.locator("[data-run]").count() == 0
    page.close()
    page, errors = login(browser, base, logins, "fenxi01")
    assert page.locator("[data-run]").count() == 7
    page.click("[data-run=blackspots]")
    page.wait_for_function(
        "() => document.getElementById('toast').innerText.includes('运行完成')", timeout=60_000
    )
    assert "道路事故黑点" in page.inner_text("#toast")
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_english_mode_translates_the_page(server, browser):
    base, logins = server
    page, errors = login(browser, base, logins, "xingzhen01", lang="en")
    text = page.inner_text("main") if page.locator("main").count() else page.inner_text("body")
    for en in ("Warning inbox", "Model cards", "Fraud mule accounts", "Feedback precision", "Previous"):
        assert en in text, en
    for zh in ("预警收件箱", "模型卡", "涉诈账户预警", "反馈精度"):
        assert zh not in text, zh
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_phone_width_table_fits(server, browser):
    base, logins = server
    page, errors = login(browser, base, logins, "xingzhen01", width=390)
    over = page.evaluate(
        """() => ['#inbox', '#models'].map((s) => {
             const box = document.querySelector(s).parentElement.getBoundingClientRect();
             return [s, Math.round(box.right)]; }).filter(([, r]) => r > innerWidth)"""
    )
    assert over == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not errors, errors
    page.close()
