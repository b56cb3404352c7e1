"""Signing tree heads: Ed25519 (PyNaCl) by default; SM2 with SM3 (gmssl) for deployments
that must use the national algorithms. Keys live under the state folder."""

from __future__ import annotations

import secrets
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey


class Ed25519Signer:
    algorithm = "ed25519"

    def __init__(self, state_dir: Path):
        path = state_dir / "audit_ed25519.key"
        if not path.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes(SigningKey.generate()))
            path.chmod(0o600)
        self._key = SigningKey(path.read_bytes())
        self.public_key = bytes(self._key.verify_key).hex()

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).signature.hex()

    @staticmethod
    def verify(public_key: str, message: bytes, signature: str) -> bool:
        try:
            VerifyKey(bytes.fromhex(public_key)).verify(message, bytes.fromhex(signature))
            return True
        except (BadSignatureError, ValueError):
            return False


class Sm2Signer:
    """SM2 signature over SM3 (GB/T 32918, GB/T 32905) through gmssl."""

    algorithm = "sm2-sm3"

    def __init__(self, state_dir: Path):
        from gmssl import sm2

        path = state_dir / "audit_sm2.key"
        if not path.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            n = int(sm2.default_ecc_table["n"], 16)
            path.write_text(f"{secrets.randbelow(n - 1) + 1:064x}")
            path.chmod(0o600)
        private = path.read_text().strip()
        probe = sm2.CryptSM2(private_key=private, public_key="")
        self.public_key = probe._kg(int(private, 16), sm2.default_ecc_table["g"])
        self._crypt = sm2.CryptSM2(private_key=private, public_key=self.public_key)

    def sign(self, message: bytes) -> str:
        return self._crypt.sign_with_sm3(message)

    @staticmethod
    def verify(public_key: str, message: bytes, signature: str) -> bool:
        from gmssl import sm2

        try:
            return bool(sm2.CryptSM2(private_key="", public_key=public_key).verify_with_sm3(signature, message))
        except Exception:  # gmssl raises plain exceptions on malformed input
            return False


SIGNERS = {"ed25519": Ed25519Signer, "sm2-sm3": Sm2Signer}
