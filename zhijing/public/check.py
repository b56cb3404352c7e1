"""Verifying a certificate as a verifier holds it: a PDF (its QR codes and embedded fields),
a photo of its QR code, or the payload text — against the published public key only."""

from __future__ import annotations

from datetime import datetime

from zhijing.errors import ZhijingError
from zhijing.localtime import zone
from zhijing.public import pdf
from zhijing.public.signing import PREFIX, Verdict, digest, verify


def today() -> str:
    """Today in the deployment's zone (YYYY-MM-DD): what a validity is read against."""
    return datetime.now(zone()).date().isoformat()


def verify_file(data: bytes, public_key: str | list[str], on: str | None = None) -> Verdict:
    """A file as a verifier holds it: the payload as text, or a document carrying it."""
    if data.lstrip()[: len(PREFIX) + 1] == f"{PREFIX}.".encode():
        return verify(data.decode("utf-8", "replace"), public_key, on)
    return verify_document(data, public_key, on)


def verify_document(data: bytes, public_key: str | list[str], today: str | None = None) -> Verdict:
    """A certificate file (PDF, or an image of its QR code): every payload it carries must be
    the same and signed by ``public_key`` (or one of a list), and the fields the PDF embeds must be the ones signed."""
    if data[:5] == b"%PDF-":
        try:
            found = pdf.read(data)
        except ZhijingError as exc:
            return Verdict(False, str(exc))
        embedded = found.embedded or {}
        payloads = set(found.qr) | ({embedded["payload"]} if isinstance(embedded.get("payload"), str) else set())
    else:
        embedded, payloads = {}, set(pdf.decode_image(data))
    if not payloads:
        return Verdict(False, "no certificate payload found (no QR code, nothing embedded)")
    if len(payloads) > 1:
        return Verdict(False, "the QR code and the embedded payload differ: altered")
    verdict = verify(payloads.pop(), public_key, today)
    fields = embedded.get("fields")
    if verdict.ok and fields is not None and (not isinstance(fields, dict) or digest(fields) != verdict.fields.get("d")):
        return Verdict(False, "the certificate's fields differ from the signed ones: altered", verdict.fields)
    return verdict
