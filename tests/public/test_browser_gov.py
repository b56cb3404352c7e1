"""A citizen in Debian's Chromium: confirms who they are, asks for a no-criminal-record
certificate and downloads it, saves the offline verify page; then, with the server stopped,
the page opened from disk verifies the certificate's QR code and refuses a forged one."""

from __future__ import annotations

import io
import sqlite3

import pytest

from zhijing.public import pdf, records

pytestmark = pytest.mark.browser


def _clean_citizen(settings) -> dict:
    db = sqlite3.connect(settings.state_dir / "serving.db")
    for mid, name, cid, phone in db.execute("""SELECT master_id, name, citizen_id, phone FROM persons
                                               WHERE phone != '' AND citizen_id != '' ORDER BY master_id DESC LIMIT 50"""):  # fmt: skip
        if not records.criminal_cases(settings, mid):
            return {"name": name, "citizen_id": cid, "phone": phone}
    raise AssertionError("no clean citizen with a phone in the small city")


def test_a_citizen_gets_a_certificate_that_verifies_offline(resolved_city, live_server, browser, tmp_path):
    settings = resolved_city[0]
    who = _clean_citizen(settings)
    page = browser.new_page(viewport={"width": 420, "height": 900})  # a phone's width
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with live_server(settings.home) as (base, _):
        page.goto(f"{base}/gov")
        page.fill("#id-name", who["name"])
        page.fill("#id-cid", who["citizen_id"])
        page.fill("#id-phone", who["phone"])
        page.click("#id-send")
        page.wait_for_selector("#code-step:not([hidden])")
        note = page.inner_text("#sms-note")
        assert "模拟短信" in note  # the SMS is simulated, and says so
        page.fill("#id-code", note.split("simulated SMS: ")[1][:6])
        page.click("#id-confirm")
        page.wait_for_selector("#services:not([hidden])")
        page.click("#svc-no-record")
        page.wait_for_selector("#req-list tr[data-status=issued] button.pdf")
        with page.expect_download() as got:
            page.click("#req-list tr[data-status=issued] button.pdf")
        certificate = got.value.path().read_bytes()
        page.screenshot(path=str(tmp_path / "gov.png"), full_page=True)
        with page.expect_download() as got:
            page.click("#verify-offline")
        offline = tmp_path / "verify.html"
        offline.write_bytes(got.value.path().read_bytes())
    # the server is gone: the saved page and a photo of the certificate's QR code are all there is
    found = pdf.read(certificate)
    assert len(found.qr) == 1
    photo = tmp_path / "qr.png"
    buf = io.BytesIO()
    pdf.qr_image(found.qr[0]).save(buf, format="PNG")
    photo.write_bytes(buf.getvalue())
    page.goto(offline.as_uri())
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#verdict[data-ok]")
    assert page.get_attribute("#verdict", "data-ok") == "1", page.inner_text("#verdict")
    assert who["name"] in page.inner_text("#fields")
    prefix, body, sig = found.qr[0].split(".")
    forged = ".".join([prefix, body, ("A" if sig[0] != "A" else "B") + sig[1:]])
    page.fill("#payload", forged)
    page.click("#verify")
    page.wait_for_function("document.getElementById('verdict').dataset.ok === '0'")
    assert "伪造或被改动" in page.inner_text("#verdict")
    assert not errors, errors
    page.close()
