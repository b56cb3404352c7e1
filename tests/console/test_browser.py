"""The console in a real browser (Debian's Chromium via Playwright): log in, choose a
purpose, search a person, open the file with its timeline and graph; refused without a
purpose. The officers' findings (issue 13, part 9) and the detective's path (part 10) are
in test_browser_console.py, on the same module-scoped server pattern."""

from __future__ import annotations

import pytest

LEAFLET = __import__("pathlib").Path(__file__).parents[2] / "zhijing/console/static/vendor/leaflet/leaflet.js"


@pytest.fixture(scope="module")
def server(resolved_city, live_server, browser):  # browser first: skips before a server starts
    with live_server(resolved_city[0].home) as (url, logins):
        yield url, logins


@pytest.mark.browser
def test_login_search_and_person_file(server, browser, tmp_path):
    from zhijing.access.seed import DEMO_CASE

    base, logins = server
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/persons")
    page.wait_for_url(f"{base}/login?next=%2Fpersons")  # no token: to the login page, then back
    page.fill("input[name=username]", "xingzhen01")
    page.fill("input[name=password]", "wrong password!")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not(:empty)")
    page.fill("input[name=password]", logins["xingzhen01"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/persons")
    page.goto(f"{base}/")
    page.wait_for_selector("#dataset-chart canvas")
    if LEAFLET.exists():  # vendored by `make setup`
        page.wait_for_selector("#map.drawn canvas", state="attached")  # Leaflet draws the jurisdictions
    page.goto(f"{base}/persons")
    page.wait_for_selector(f"#purpose option[value='{DEMO_CASE}']", state="attached")
    page.fill("input[name=q]", "张伟")
    page.click("#person-search button")
    page.wait_for_selector("#toast", state="visible")
    assert "用途" in page.inner_text("#toast")  # refused without a purpose, in Chinese
    page.select_option("#purpose", DEMO_CASE)
    page.click("#person-search button")
    page.wait_for_selector("#results tbody tr.click")
    page.click("#results tbody tr >> nth=0")
    page.wait_for_selector("#file:not([hidden])")
    page.wait_for_selector("#timeline canvas")
    page.wait_for_selector("#graph canvas")
    assert page.locator("#records tr").count() >= 1
    page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
    page.fill("#export-reason", "移送检察院审查起诉")  # an export states its reason
    with page.expect_download() as dl:  # the watermarked export, through the same token and purpose
        page.click("#export")
    assert "导出编号" in dl.value.path().read_text(encoding="utf-8-sig").splitlines()[0]

    page.goto(f"{base}/")  # the overview: station map with the incident heat layer and charts
    for chart in ("#incident-months", "#incident-categories", "#dataset-chart"):
        page.wait_for_selector(f"{chart} canvas")
    page.goto(f"{base}/review")  # the review screen loads its queue under the chosen purpose
    page.wait_for_selector("#queue tbody", state="attached")
    page.wait_for_load_state("networkidle")
    assert not errors, errors


@pytest.mark.browser
def test_an_auditor_checks_an_entry_in_the_browser(server, browser):
    """督察 opens the audit page and checks one entry's chain hash, leaf, inclusion path and
    the Ed25519 signature of the tree head with the browser's own WebCrypto."""

    from zhijing.access.audit.store import AuditEvent, log_for
    from zhijing.config import get_settings

    base, logins = server
    log = log_for(get_settings())
    for i in range(5):  # entries enough for a real path
        log.append(AuditEvent(actor="xingzhen01", operation="consult", outcome="allowed", purpose="case:T", records=[f"PM{i}"]))
    head = log.seal()
    sealed_last = head["first_seq"] + head["size"] - 1  # the page's own reads come after it, unsealed
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "ducha01")
    page.fill("input[name=password]", logins["ducha01"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/audit")
    page.wait_for_selector("#events tbody tr.click")
    page.click(f"#events tr:has(td:text-is('{sealed_last}'))")
    page.wait_for_selector("#proof:not([hidden]) [data-check=signature]")
    checks = {k: page.inner_text(f"#proof [data-check={k}]") for k in ("chain", "leaf", "path", "signature")}
    assert all(v.startswith("✔") for v in checks.values()), checks
    assert _fingerprint(log.trust.pinned_key()) in checks["signature"]  # to compare with oversight's copy
    undo = _resign_with_another_key(log, head)  # a rewrite of the database: the row names the new key
    try:
        page.reload()
        page.wait_for_selector("#events tbody tr.click")
        page.click(f"#events tr:has(td:text-is('{sealed_last}'))")
        page.wait_for_selector("#proof:not([hidden]) [data-check=signature]")
        assert page.inner_text("#proof [data-check=signature]").startswith("✘")  # the pinned key decides
    finally:
        undo()  # the session's city is shared by later tests: put the true head back


def _fingerprint(key: str) -> str:
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _resign_with_another_key(log, head: dict):
    """Re-sign ``head`` in the database with a stranger's key; returns the undo."""
    import sqlalchemy as sa
    from nacl.signing import SigningKey

    from zhijing.access.audit.heads import message

    other = SigningKey.generate()
    with log.engine.begin() as c:
        key = c.execute(sa.text("select public_key from audit_heads where signature = :old"), {"old": head["signature"]}).scalar()
        new = other.sign(message(head)).signature.hex()
        c.execute(sa.text("update audit_heads set public_key = :k, signature = :s where signature = :old"),
                  {"k": bytes(other.verify_key).hex(), "s": new, "old": head["signature"]})  # fmt: skip

    def undo() -> None:
        with log.engine.begin() as c:
            c.execute(sa.text("update audit_heads set public_key = :k, signature = :s where signature = :new"),
                      {"k": key, "s": head["signature"], "new": new})  # fmt: skip

    return undo
