"""Signing tree heads: Ed25519 (PyNaCl) by default; SM2 with SM3 (gmssl) for deployments
that must use the national algorithms.

The private key is a file (mode 0600, folder 0700) outside the audit database; its public
half is written beside it once, when the key is made, and is what a deployment pins (the
setting ``audit.public_key`` or a copy the oversight department holds). Verification uses
only the pinned key, never the key a head row names: a head re-signed with another key fails.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey


def _write_private(path: Path, data: bytes) -> None:
    """Create the key file 0600 from the start (no window in which it is world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class Ed25519Signer:
    algorithm = "ed25519"

    def __init__(self, path: Path):
        if not path.exists():
            _write_private(path, bytes(SigningKey.generate()))
        self._key = SigningKey(path.read_bytes())
        self.public_key = bytes(self._key.verify_key).hex()

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).signature.hex()

    @staticmethod
    def verify(public_key: str, message: bytes, signature: str) -> bool:
        try:
            VerifyKey(bytes.fromhex(public_key)).verify(message, bytes.fromhex(signature))
            return True
        except (BadSignatureError, ValueError, TypeError):
            return False


class Sm2Signer:
    """SM2 signature over SM3 (GB/T 32918, GB/T 32905) through gmssl.

    Two faults of gmssl 3.2 are worked around here: its constructor strips the public key with
    ``lstrip("04")``, which also eats a key's leading 0 and 4 digits (one key in eight then never
    verifies), so the key is set after construction; and its nonce comes from ``random.choice``,
    which is predictable (a known nonce gives away the private key), so k is drawn from ``secrets``.
    """

    algorithm = "sm2-sm3"

    def __init__(self, path: Path):
        from gmssl import sm2

        self._n = int(sm2.default_ecc_table["n"], 16)
        if not path.exists():
            _write_private(path, f"{secrets.randbelow(self._n - 1) + 1:064x}".encode())
        private = path.read_text().strip()
        self._crypt = _crypt(private_key=private)
        self.public_key = self._crypt._kg(int(private, 16), sm2.default_ecc_table["g"])
        self._crypt.public_key = self.public_key

    def sign(self, message: bytes) -> str:
        while True:  # gmssl returns None for the rare nonce that gives r = 0 or s = 0
            signature = self._crypt.sign_with_sm3(message, f"{secrets.randbelow(self._n - 1) + 1:064x}")
            if signature:
                return signature

    @staticmethod
    def verify(public_key: str, message: bytes, signature: str) -> bool:
        try:
            return bool(_crypt(public_key=public_key).verify_with_sm3(signature, message))
        except Exception:  # gmssl raises plain exceptions on malformed input
            return False


def _crypt(private_key: str = "", public_key: str = ""):
    """A gmssl SM2 context whose public key is kept exactly as given (see Sm2Signer)."""
    from gmssl import sm2

    crypt = sm2.CryptSM2(private_key=private_key, public_key="")
    crypt.public_key = public_key[2:] if len(public_key) == 130 and public_key.startswith("04") else public_key
    return crypt


SIGNERS = {"ed25519": Ed25519Signer, "sm2-sm3": Sm2Signer}
