"""One criminal case walked in Debian's Chromium from 受案 to 移送审查起诉: the handler registers
it, issues and views its documents, asks for each step that needs approval and the 科长
approves it from his queue; a suspect is detained (拘留) and the countdown of its time limit
ticks on screen; a seized item is registered with its QR label, moved through its custody
chain, and its disposal asked for, approved by a second officer and carried out."""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from pathlib import Path

import pytest
from browser_ui import login, toast

pytestmark = [pytest.mark.browser, pytest.mark.skipif(importlib.util.find_spec("zhijing.cases.procedure.routes") is None,
                                                      reason="the procedure's API is not on this branch yet")]  # fmt: skip
PERSON = "P0001"


@pytest.fixture(scope="module")
def server(tmp_path_factory, live_server, browser):  # no city needed: the procedure and the property live in the metadata
    with live_server(tmp_path_factory.mktemp("walk") / "home") as (url, logins):
        yield url, logins


def _shot(page, name: str) -> None:
    """The screen as docs/cases.md shows it (``ZHIJING_SHOTS=docs/img``; else a temporary folder)."""
    out = Path(os.environ.get("ZHIJING_SHOTS") or Path(tempfile.gettempdir()) / "zhijing-shots")
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / name), full_page=True)


def _case(page, server, cid: str, user: str = "xingzhen01") -> None:
    login(page, server, user, f"case:{cid}")
    page.goto(f"{server[0]}/console/procedure/{cid}")
    page.wait_for_selector("#proc-timeline li")


def _approve(page, server, action: str) -> None:
    """The 科长 approves from his queue (审批: no purpose of his own)."""
    login(page, server, "kezhang01")
    page.goto(f"{server[0]}/console/procedure")
    button = f"#proc-queue [data-action='{action}']"
    page.wait_for_selector(button)
    page.click(button)
    page.wait_for_selector(button, state="detached")


def _ask(page, action: str, person: str | None = None) -> None:
    if person:
        page.fill("#proc-person", person)
    page.click(f"#proc-actions [data-act='{action}']:not([data-person])" if person else f"#proc-actions [data-act='{action}']")
    assert "呈请" in toast(page)


def _issue(page, kind: str, person: str = "") -> None:
    page.click(f"#proc-docs-due [data-doc='{kind}'][data-person='{person}']")
    assert "已办理" in toast(page)
    page.wait_for_selector(f"#proc-docs tbody tr:has-text('{kind}')")


def test_a_criminal_case_from_acceptance_to_prosecution(page, server):
    base, _ = server
    login(page, server, "xingzhen01")
    page.goto(f"{base}/console/procedure")
    page.wait_for_selector("#proc-cases tr.empty")
    page.select_option("#proc-open select[name=kind]", "criminal")
    page.fill("#proc-open input[name=title]", "鄞州入室盗窃案")
    page.fill("#proc-open input[name=category]", "盗窃")
    page.fill("#proc-open input[name=persons]", PERSON)
    page.click("#proc-open-submit")
    page.wait_for_url(re.compile(r"/console/procedure/AJ\d+$"))
    cid = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#proc-timeline li[data-action='受案']")
    assert page.get_attribute("#proc-state", "data-state") == "受案"
    assert "剩余" in page.inner_text("#proc-limits tr:has([data-limit='立案审查']) .countdown")

    _issue(page, "受案登记表")
    page.click("#proc-docs [data-view]")
    page.wait_for_selector("#proc-doc-view:not([hidden])")
    shown = page.frame_locator("#proc-doc-view").locator("body").inner_text()
    assert "受案登记表" in shown and "xingzhen01" in shown  # watermarked with the viewer
    _ask(page, "立案")
    page.wait_for_selector("#proc-pending tbody tr:has-text('立案')")

    _approve(page, server, "立案")
    _case(page, server, cid)
    assert page.get_attribute("#proc-state", "data-state") == "侦查"
    _issue(page, "立案决定书")
    _ask(page, "拘留", PERSON)
    _approve(page, server, "拘留")
    _case(page, server, cid)
    _issue(page, "拘留证", PERSON)
    clock = "#proc-limits tr:has([data-limit='拘留后提请批捕']) .countdown"
    first = page.inner_text(clock)
    assert re.match(r"剩余 \d天 \d\d:\d\d:\d\d", first), first
    page.wait_for_function("([sel, was]) => document.querySelector(sel).textContent !== was", arg=[clock, first])  # it ticks
    _shot(page, "cases-procedure.png")

    # the seized item: intake, its label, its custody moves, its disposal under a second officer's approval
    page.click("#proc-property-link")
    page.wait_for_selector("#prop-items tr.empty")
    page.fill("#prop-intake input[name=description]", "撬棍一根（作案工具）")
    page.select_option("#prop-category", "other")
    page.click("#prop-intake-submit")
    page.wait_for_selector("#prop-item:not([hidden]) #prop-chain tbody tr")
    page.wait_for_function("document.getElementById('prop-label').naturalWidth === 900")  # the QR label, as printed
    for action, holder in (("handover", "保管员张三"), ("check_out", "鉴定中心"), ("check_in", "保管员张三")):
        rows = page.locator("#prop-chain tbody tr").count()
        page.select_option("#prop-move select[name=action]", action)
        page.fill("#prop-move input[name=holder]", holder)
        page.click("#prop-move-submit")
        page.wait_for_function("(n) => document.querySelectorAll('#prop-chain tbody tr').length === n", arg=rows + 1)
    assert page.locator("#prop-chain tbody tr").count() == 4 and "校验通过" in page.inner_text("#prop-verified")
    _shot(page, "cases-property.png")
    item_url = page.url
    page.select_option("#prop-request-kind", "dispose")
    page.select_option("#prop-request-method", "没收上缴国库")
    page.fill("#prop-request input[name=reason]", "作案工具，依法没收")
    page.click("#prop-request-submit")
    page.wait_for_selector("#prop-requests tbody tr:has-text('待审批')")
    assert page.locator("#prop-requests [data-decide]").count() == 0  # the handler does not approve his own request

    login(page, server, "kezhang01")
    page.goto(f"{base}/console/property")
    page.wait_for_selector("#prop-queue [data-approve]")
    assert "撬棍" in page.inner_text("#prop-queue")
    page.click("#prop-queue [data-approve]")
    page.wait_for_selector("#prop-queue [data-approve]", state="detached")
    login(page, server, "xingzhen01", f"case:{cid}")
    page.goto(item_url)
    page.wait_for_selector("#prop-requests [data-execute]")
    page.click("#prop-requests [data-execute]")
    page.wait_for_selector("#prop-chain tbody tr:has-text('处置')")
    assert page.locator("#prop-chain tbody tr").count() == 5 and "已处置" in page.inner_text("#prop-item-title")

    # the end of the investigation and the transfer for prosecution, each approved
    _case(page, server, cid)
    _ask(page, "侦查终结")
    _approve(page, server, "侦查终结")
    _case(page, server, cid)
    _ask(page, "移送审查起诉")
    _approve(page, server, "移送审查起诉")
    _case(page, server, cid)
    _issue(page, "起诉意见书")
    assert page.get_attribute("#proc-state", "data-state") == "移送审查起诉"
    steps = page.locator("#proc-timeline li").evaluate_all("(lis) => lis.map((li) => li.dataset.action)")
    assert steps == ["受案", "立案", "拘留", "侦查终结", "移送审查起诉"]
    docs = page.inner_text("#proc-docs")
    for kind in ("受案登记表", "立案决定书", "拘留证", "起诉意见书"):
        assert kind in docs
    assert not page.errors, page.errors


def test_the_supervision_inbox_shows_each_flag_with_its_evidence(page, server):
    from datetime import UTC, date, datetime, timedelta

    from zhijing.cases import seized
    from zhijing.config import get_settings

    s = get_settings()  # the live server's home: an item kept past its disposal date, written as an import would
    room = seized.unit_locations(s, "330212000000")[0]["code"]
    seized.intake(s, case_id="AJ33021220260009901", case_ref="case:AJ33021220260009901", description="超期未处置的手机",
                  category="phone", quantity="1部", seized_by="xingzhen01", unit_code="330212000000", holder="xingzhen01",
                  location=room, seized_at=datetime.now(UTC) - timedelta(days=60), disposal_due=date.today() - timedelta(days=5))  # fmt: skip
    login(page, server, "fazhi01")
    page.goto(f"{server[0]}/console/supervision")
    page.wait_for_selector("#sup-flags [data-rule='property_past_disposal']")
    page.click("#sup-run")  # the rules run over the procedure and the property; each flag is shown once
    page.wait_for_selector("#sup-flags [data-rule='property_past_disposal']")
    row = page.inner_text("#sup-flags tr:has([data-rule='property_past_disposal'])")
    assert "AJ33021220260009901" in row and "超期天数 5" in row and "超期未处置的手机" in row
    assert page.locator("#sup-flags [data-rule='property_past_disposal']").count() == 1
    assert "校验通过" in page.inner_text("#sup-verify")
    _shot(page, "cases-supervision.png")
    assert not page.errors, page.errors


def test_the_force_page_plans_a_shift_and_shows_the_workload(page, server):
    login(page, server, "zhihui01")
    page.goto(f"{server[0]}/console/force")
    page.wait_for_selector("#force-shifts tr.empty")
    assert "调度视所有单元为在岗" in page.inner_text("#force-shifts")  # an empty roster says what it means for dispatch
    page.select_option("#force-officer", "paichusuo01")
    page.select_option("#force-post", "desk")
    from datetime import datetime, timedelta

    from zhijing.localtime import zone

    wall = datetime.now(zone())  # the form's wall time is read in the deployment's zone
    page.fill("#force-plan input[name=starts_at]", (wall - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#force-plan input[name=ends_at]", (wall + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M"))
    page.click("#force-plan-submit")
    page.wait_for_selector("#force-shifts tbody tr:has-text('paichusuo01')")
    assert "值班民警" in page.inner_text("#force-shifts")
    page.wait_for_selector("#force-load tbody tr:has-text('paichusuo01') [data-on='1']")  # on duty now in the workload
    _shot(page, "cases-force.png")
    assert not page.errors, page.errors
