"""The 风险预警 screen in a real browser: the inbox (no identity), a warning's evidence with
its transfer-flow graph once opened under a purpose, feedback, model cards, hot cells."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.fixture(scope="module")
def server(risk_city, tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    import uvicorn

    from zhijing.access.seed import seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import get_settings, reset_settings
    from zhijing.derived.risk import loop

    home = tmp_path_factory.mktemp("risk-console") / "home"
    home.mkdir()
    (home / "lake").symlink_to(risk_city[0].lake_dir)
    old = os.environ.get("ZHIJING_HOME")
    os.environ["ZHIJING_HOME"] = str(home)
    reset_settings()
    logins = {u: p for u, p, _ in seed_demo(get_settings())}
    for name in ("mules", "blackspots"):
        loop.register(get_settings(), name)
        loop.run(get_settings(), name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", logins
    srv.should_exit = True
    thread.join(5)
    if old is None:
        os.environ.pop("ZHIJING_HOME", None)
    else:
        os.environ["ZHIJING_HOME"] = old
    reset_settings()


@pytest.mark.browser
def test_inbox_evidence_feedback_and_cards(server):
    from playwright.sync_api import sync_playwright

    base, logins = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "xingzhen01")
        page.fill("input[name=password]", logins["xingzhen01"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.evaluate("sessionStorage.setItem('zj.purpose', 'case:A330200000000002')")
        page.goto(f"{base}/risk")
        page.wait_for_selector("#inbox tbody tr")
        assert "须用途" in page.inner_text("#inbox tbody tr >> nth=0")  # no identity in the inbox
        page.wait_for_selector("#models tbody tr")
        assert "涉诈账户预警" in page.inner_text("#models")
        page.click("#inbox tbody tr >> nth=0")
        page.wait_for_selector("#open-person:visible")
        page.click("#open-person")
        page.wait_for_selector("#flows canvas")
        assert "PM" in page.inner_text("#evidence")
        page.click("button[data-verdict=confirmed]")
        page.wait_for_function("document.querySelector('#models').innerText.includes('1.00')")
        page.wait_for_selector("#hotmap canvas")
        browser.close()
    assert not errors, errors
