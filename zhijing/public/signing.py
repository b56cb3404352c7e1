"""The certificate key and the signed payload a certificate's QR code carries.

A certificate is signed with its own Ed25519 key (``keys/certificate_signing.key``, 0600, in
the deployment's key store beside the audit key, never the audit key itself: a key that
signs what the public carries around must not also vouch for the audit trail). Its public
half is published (``/.well-known/zhijing-certificate-key.json``) and pinned by whoever verifies.

The payload is ``ZJC1.<body>.<signature>``: the body is the canonical JSON (UTF-8) of the
fields the certificate shows, its citizen ID masked, plus ``d``, the SHA-256 of all its
fields (the full ID too); both parts base64url. The signature covers the body's exact bytes,
so a verifier needs no canonical form: it checks the bytes, then reads them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from zhijing.access.audit.signing import Ed25519Signer

PREFIX = "ZJC1"
STEM = "certificate_signing"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(fields: dict) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def digest(fields: dict) -> str:
    """SHA-256 of all of a certificate's fields (what the register keeps and the PDF embeds)."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def key_id(public_key: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key)).hexdigest()[:16]


def key_files(settings) -> tuple[Path, Path]:
    """(private, public) key files: the setting, else ``home/keys/certificate_signing.{key,pub}``."""
    private = settings.public.certificate_key_file or settings.home / "keys" / f"{STEM}.key"
    return private, private.with_suffix(".pub")


def signer(settings) -> Ed25519Signer:
    """The platform's certificate signer (made on first use, its public half written beside it)."""
    private, public = key_files(settings)
    s = Ed25519Signer(private)
    if not public.exists():
        public.write_text(s.public_key + "\n")
    return s


def published_key(settings) -> str:
    """The public key new certificates are signed with: the pinned setting, else the published file."""
    if settings.public.certificate_public_key:
        return settings.public.certificate_public_key.strip().lower()
    return signer(settings).public_key


def retired_keys(settings) -> list[str]:
    """The public halves of keys rotated out (``keys/certificate_signing.retired/*.pub``): the
    certificates they signed still verify until their own validity ends."""
    folder = key_files(settings)[0].with_suffix(".retired")
    return [f.read_text().strip().lower() for f in sorted(folder.glob("*.pub"))] if folder.is_dir() else []


def trusted_keys(settings) -> list[str]:
    """Every key a genuine certificate may carry: the current one first, then the retired ones."""
    return [published_key(settings), *retired_keys(settings)]


def rotate(settings) -> tuple[str, str]:
    """Retire the signing key: its public half is kept among the retired ones, its private
    half destroyed, and a new key signs from now on. (old public key, new public key)."""
    private, public = key_files(settings)
    old = signer(settings).public_key
    retired = private.with_suffix(".retired")
    retired.mkdir(mode=0o700, exist_ok=True)
    (retired / f"{key_id(old)}.pub").write_text(old + "\n")
    private.unlink()
    public.unlink(missing_ok=True)
    return old, signer(settings).public_key


def sign(settings, shown: dict, full: dict) -> str:
    """The payload of a certificate showing ``shown``, whose complete fields are ``full``."""
    s = signer(settings)
    body = canonical({**shown, "d": digest(full), "k": key_id(s.public_key)})
    return f"{PREFIX}.{_b64(body)}.{_b64(bytes.fromhex(s.sign(body)))}"


@dataclass
class Verdict:
    ok: bool
    reason: str  # why not, or which key signed it
    fields: dict = field(default_factory=dict)  # the signed fields (also when the signature fails: for the message)


def _key_id_or_none(public_key: str) -> str | None:
    try:
        return key_id(public_key)
    except ValueError:
        return None


def verify(payload: str, public_keys: str | list[str], today: str | None = None) -> Verdict:
    """Is ``payload`` a certificate signed by one of ``public_keys`` (the published ones; the
    payload names which by its key id) and, given ``today`` as YYYY-MM-DD, still within its
    validity? The bytes first, then what they say."""
    keys = [public_keys] if isinstance(public_keys, str) else list(public_keys)
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return Verdict(False, "not a zhijing certificate payload")
    try:
        body, signature = _unb64(parts[1]), _unb64(parts[2])
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Verdict(False, "malformed payload")
    if not isinstance(fields, dict):
        return Verdict(False, "malformed payload")
    public_key = next((k for k in keys if _key_id_or_none(k) == fields.get("k")), None)
    if public_key is None:
        return Verdict(False, "signed with another key than the published ones", fields)
    if not Ed25519Signer.verify(public_key, body, signature.hex()):
        return Verdict(False, "signature does not match: forged or altered", fields)
    if today and str(fields.get("until", "9999")) < today:
        return Verdict(False, f"expired on {fields['until']}", fields)
    return Verdict(True, f"signed by the platform's key {fields['k']}", fields)
