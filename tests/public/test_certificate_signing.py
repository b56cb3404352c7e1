"""Certificates verify offline with the published key; a forged or altered one fails:
an altered field, another key, a tampered signature, a QR that disagrees with the paper."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from zhijing.config import Settings
from zhijing.public import check, pdf, signing
from zhijing.public.signing import _b64, _unb64

FULL = {"kind": "no_record", "no": "NR2026000001", "name": "张三", "id": "330203199001011234", "sex": "男",
        "issued": "2026-12-07", "until": "2027-03-07", "by": "宁波市公安局"}  # fmt: skip
SHOWN = {**FULL, "id": "330203********1234"}


@pytest.fixture()
def issued(settings):
    payload = signing.sign(settings, SHOWN, FULL)
    return settings, payload, signing.published_key(settings)


def _forge(payload: str, change) -> str:
    prefix, body, sig = payload.split(".")
    return ".".join([prefix, *change(body, sig)])


def test_a_signed_payload_verifies_with_the_published_key(issued):
    settings, payload, key = issued
    v = check.verify_file(payload.encode(), key, "2026-12-08")
    assert v.ok and v.fields["name"] == "张三" and v.fields["id"] == "330203********1234"
    assert v.fields["d"] == signing.digest(FULL) and v.fields["k"] == signing.key_id(key)
    assert (settings.home / "keys" / "certificate_signing.key").stat().st_mode & 0o077 == 0  # the private key: owner only


def test_an_altered_field_fails(issued):
    _, payload, key = issued

    def rename(body, sig):
        fields = json.loads(_unb64(body))
        fields["name"] = "李四"
        return _b64(json.dumps(fields, ensure_ascii=False).encode()), sig

    v = signing.verify(_forge(payload, rename), key)
    assert not v.ok and "forged or altered" in v.reason


def test_a_tampered_signature_fails(issued):
    _, payload, key = issued

    def flip(body, sig):
        raw = bytearray(_unb64(sig))
        raw[5] ^= 1
        return body, _b64(bytes(raw))

    assert not signing.verify(_forge(payload, flip), key).ok
    assert not signing.verify(payload[:-3], key).ok  # cut short
    assert not signing.verify("ZJC1.%%%.xx", key).ok and not signing.verify("hello", key).ok


def test_a_certificate_signed_with_another_key_fails(issued, tmp_path):
    _, _, key = issued
    other = Settings(home=tmp_path / "forger")
    forged = signing.sign(other, SHOWN, FULL)
    v = signing.verify(forged, key)
    assert not v.ok and "another key" in v.reason
    # even a forger who copies the genuine key id into the body fails on the signature
    body = {**json.loads(_unb64(forged.split(".")[1])), "k": signing.key_id(key)}
    raw = signing.canonical(body)
    relabelled = f"ZJC1.{_b64(raw)}.{_b64(bytes.fromhex(signing.signer(other).sign(raw)))}"
    assert "forged or altered" in signing.verify(relabelled, key).reason


def test_an_expired_certificate_fails(issued):
    _, payload, key = issued
    assert signing.verify(payload, key, "2027-03-07").ok
    assert "expired" in signing.verify(payload, key, "2027-03-08").reason


def test_the_pdf_carries_the_payload_in_its_qr_code_and_embedded(issued):
    _, payload, key = issued
    data = pdf.render(FULL, payload, ("经查询，未发现张三有犯罪记录。", "No criminal record was found."))
    found = pdf.read(data)
    assert found.qr == [payload] and found.embedded == {"payload": payload, "fields": FULL}
    assert check.verify_document(data, key, "2026-12-08").ok
    qr = pdf.qr_image(payload)  # a photo of the QR code verifies too
    buf = io.BytesIO()
    qr.save(buf, format="PNG")
    assert check.verify_file(buf.getvalue(), key, "2026-12-08").ok


def test_a_pdf_whose_fields_were_altered_fails(issued, settings):
    _, payload, key = issued
    altered = {**FULL, "name": "李四"}  # the paper says one thing, the signature another
    data = pdf.render(altered, payload, ("", ""))
    assert "fields differ" in check.verify_document(data, key).reason
    other = signing.sign(Settings(home=settings.home.parent / "x"), SHOWN, FULL)  # QR and embedded payload disagree
    mixed = pdf.render(FULL, payload, ("", "")).replace(payload.encode(), other.encode())
    assert not check.verify_document(mixed, key).ok
    assert "not a readable PDF" in check.verify_document(b"%PDF-1.4 nothing", key).reason
    assert "no certificate payload" in check.verify_document(b"GIF89a", key).reason


def test_the_command_line_verifies_offline(issued, tmp_path, monkeypatch):
    settings, payload, key = issued
    from zhijing.cli import app

    good = tmp_path / "good.pdf"
    good.write_bytes(pdf.render(FULL, payload, ("", "")))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(pdf.render({**FULL, "until": "2099-01-01"}, payload, ("", "")))
    runner = CliRunner()
    ok = runner.invoke(app, ["certificate", "verify", str(good), "--key", key, "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"], ok.stdout
    failed = runner.invoke(app, ["certificate", "verify", str(bad), "--key", key])
    assert failed.exit_code == 1 and "INVALID" in failed.stdout
    monkeypatch.setenv("ZHIJING_HOME", str(settings.home))
    from zhijing.config import reset_settings

    reset_settings()
    page = tmp_path / "verify.html"
    assert runner.invoke(app, ["certificate", "page", str(page)]).exit_code == 0
    assert key in page.read_text() and "nacl" in page.read_text()
    reset_settings()


def test_a_rotated_key_still_verifies_its_certificates_and_a_removed_one_does_not(issued):
    settings, old_payload, old_key = issued
    retired, new_key = signing.rotate(settings)
    assert retired == old_key and new_key != old_key
    new_payload = signing.sign(settings, SHOWN, FULL)
    trusted = signing.trusted_keys(settings)
    assert trusted == [new_key, old_key]
    assert signing.verify(old_payload, trusted).ok and signing.verify(new_payload, trusted).ok
    assert not signing.verify(old_payload, new_key).ok  # the new key alone does not vouch for the old certificates
    for f in (settings.home / "keys" / "certificate_signing.retired").glob("*.pub"):
        f.unlink()  # a key withdrawn (compromised): its certificates fail from now on
    assert "another key" in signing.verify(old_payload, signing.trusted_keys(settings)).reason
    assert not signing.verify(old_payload, ["not-hex", "00"]).ok  # a malformed key is no key
