"""The case workspace and export approval as officers see them, in Debian's Chromium: a pin
reads as words with its author, an empty case says how to fill it, and an export needing a
second officer (双人审批) is requested, approved or rejected, and downloaded on its screen."""

from __future__ import annotations

import duckdb
import pytest
from browser_ui import login, nav

from zhijing.lake.store import current_files

pytestmark = pytest.mark.browser
CASE = "case:A330200000000088"


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_EXPORTS__APPROVAL_GRADE", "sensitive")  # clearance 2 sees sensitive fields: every export waits
        with live_server(resolved_city[0].home) as (url, logins):
            from zhijing.access.guard import load_user
            from zhijing.access.seed import add_purpose
            from zhijing.config import get_settings

            s = get_settings()
            add_purpose(s, CASE, "盗窃车辆线索核查", load_user(s, "xingzhen01").unit, ["xingzhen01", "kezhang01"])
            yield url, logins


def test_a_case_workspace_reads_as_words(page, server):
    base, _ = server
    login(page, server, "xingzhen01", CASE)
    page.goto(f"{base}/cases/{CASE}")
    page.wait_for_selector("#items tr.empty")
    empty = page.inner_text("#items")
    assert "未查到结果" not in empty and "尚无条目" in empty and "钉选" in empty  # what to do, not "nothing found"
    point = {"subject_kind": "plate", "subject": "浙B81986", "dataset": "checkpoint_read", "record_id": "GC0000042",
             "ts": "2026-03-01T02:10:00", "ts_end": None, "mode": "pass", "place_kind": "checkpoint", "place_id": "KK0007",
             "place_name": "鄞州大道卡口", "lon": 121.55, "lat": 29.81, "via": None}  # fmt: skip
    page.evaluate("([p]) => zj.pin('pin', 'plate:浙B81986 2026-03-01 02:10 鄞州大道卡口', { subject: 'plate:浙B81986', point: p })", [point])
    page.goto(f"{base}/cases/{CASE}")
    page.wait_for_selector("#items tbody tr:not(.empty):not(.loading)")
    row = page.locator("#items tbody tr").first
    content, author = row.locator("td").nth(2).inner_text(), row.locator("td").nth(3).inner_text()
    assert "{" not in content and "ts_end" not in content
    for words in ("plate:浙B81986", "鄞州大道卡口", "2026-03-01 02:10", "卡口过车记录 GC0000042"):  # the dataset by its catalog title
        assert words in content
    assert author == "xingzhen01"
    assert not page.errors, page.errors


def _master(settings) -> str:
    """A documented person (not one the access tests export)."""
    files = current_files(settings, "entities", "persons_master")
    return duckdb.sql(f"SELECT master_id FROM read_parquet({files!r}) WHERE citizen_id IS NOT NULL "
                      "ORDER BY mentions DESC, master_id LIMIT 1 OFFSET 3").fetchall()[0][0]  # fmt: skip


def test_an_export_is_requested_approved_and_downloaded_on_screen(page, server, resolved_city):
    from zhijing.access.seed import DEMO_CASE

    base, _ = server
    mid = _master(resolved_city[0])
    login(page, server, "xingzhen01", DEMO_CASE)
    assert page.locator("nav a[href='/exports']").is_hidden()  # the entry is the approvers'
    page.goto(f"{base}/persons/{mid}")
    page.wait_for_selector("#file:not([hidden]) #facts dt")
    page.fill("#export-reason", "移送检察院审查起诉")
    page.click("#export")
    page.wait_for_selector("#toast:not([hidden])")
    rid = page.inner_text("#toast").split("：")[-1].strip()
    assert "双人审批" in page.inner_text("#toast") and rid
    page.goto(f"{base}/exports")
    page.wait_for_selector("#mine tbody tr:has-text('待审批')")
    assert page.locator("#pending [data-approve]").count() == 0  # never one's own

    login(page, server, "kezhang01", DEMO_CASE)
    nav(page, "/exports")  # the approver's entry
    page.wait_for_selector(f"#pending [data-approve='{rid}']")
    row = page.locator(f"#pending tr:has([data-approve='{rid}'])").inner_text()
    for words in ("xingzhen01", DEMO_CASE, mid, "移送检察院审查起诉", "敏感"):
        assert words in row
    page.click(f"#pending [data-approve='{rid}']")
    page.wait_for_selector(f"#pending [data-approve='{rid}']", state="detached")

    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/exports")
    page.wait_for_selector(f"#mine [data-download='{rid}']")
    mine = page.locator(f"#mine tr:has([data-download='{rid}'])").inner_text()
    assert "已批准" in mine and "kezhang01" in mine
    with page.expect_download() as dl:
        page.click(f"#mine [data-download='{rid}']")
    assert "导出编号" in dl.value.path().read_text(encoding="utf-8-sig").splitlines()[0]
    page.wait_for_selector("#mine tbody tr:has-text('已下载')")  # once: no download button any more
    assert page.locator(f"#mine [data-download='{rid}']").count() == 0
    assert not page.errors, page.errors


def test_an_approver_rejects_with_a_reason_the_requester_reads(page, server, resolved_city):
    from zhijing.access.seed import DEMO_CASE

    base, _ = server
    mid = _master(resolved_city[0])
    login(page, server, "xingzhen01", DEMO_CASE)
    rid = page.evaluate("([m]) => zj.api('/api/exports', { method: 'POST', json: { master_id: m, reason: '核查涉案车辆登记' } }).then((r) => r.id)", [mid])
    login(page, server, "kezhang01", DEMO_CASE)
    page.goto(f"{base}/exports")
    page.wait_for_selector(f"#pending [data-reject='{rid}']")
    page.fill(f"#pending [data-why='{rid}']", "事由不足以导出全档")
    page.click(f"#pending [data-reject='{rid}']")
    page.wait_for_selector(f"#pending [data-reject='{rid}']", state="detached")
    login(page, server, "xingzhen01", DEMO_CASE)
    page.goto(f"{base}/exports")
    page.wait_for_selector("#mine tbody tr:has-text('已驳回')")
    mine = page.inner_text("#mine")
    assert "已驳回" in mine and "事由不足以导出全档" in mine and "kezhang01" in mine
    assert not page.errors, page.errors
