"""What verification of the audit trail trusts, all of it outside the audit database: the
pinned public key, the private signing key (a 0600 file), and the witness files of heads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from zhijing.access.audit.signing import SIGNERS
from zhijing.errors import ZhijingError

STEMS = {"ed25519": "audit_signing", "sm2-sm3": "audit_signing_sm2"}
LEGACY = {"ed25519": "audit_ed25519.key", "sm2-sm3": "audit_sm2.key"}  # keys made before the keys/ folder


@dataclass(frozen=True)
class Trust:
    algorithm: str
    signing_key: Path
    public_key_file: Path
    witness_file: Path
    pinned: str | None = None  # the public key from configuration; wins over the file
    max_batch: int = 2048

    @classmethod
    def under(cls, folder: Path, algorithm: str = "ed25519", **kw) -> Trust:
        """The default layout below ``folder``: keys/ and witness/."""
        stem = STEMS[algorithm]
        return cls(algorithm, folder / "keys" / f"{stem}.key", folder / "keys" / f"{stem}.pub",
                   folder / "witness" / "heads.jsonl", **kw)  # fmt: skip

    @classmethod
    def from_settings(cls, settings) -> Trust:
        a = settings.audit
        base = cls.under(settings.home, a.algorithm)
        t = cls(a.algorithm, a.signing_key_file or base.signing_key, a.public_key_file or base.public_key_file,
                a.witness_file or base.witness_file, a.public_key, a.max_batch)  # fmt: skip
        t.adopt_legacy_key(settings.state_dir / LEGACY[a.algorithm])  # a key made before the keys/ folder
        return t

    @property
    def commit_witness_file(self) -> Path:
        """Where every commit head is appended: beside the heads' witness (heads.commits.jsonl)."""
        return self.witness_file.with_suffix(".commits.jsonl")

    def adopt_legacy_key(self, legacy: Path) -> None:
        """Move a key an older version kept in the state folder to where this one looks."""
        if legacy.exists() and not self.signing_key.exists():
            self.signing_key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(legacy, self.signing_key)
            self.signing_key.chmod(0o600)

    def pinned_key(self) -> str | None:
        """The public key verification trusts: configuration, else the public key file."""
        if self.pinned:
            return self.pinned.strip().lower()
        try:
            return self.public_key_file.read_text().strip().lower() or None
        except FileNotFoundError:
            return None

    def publish_key(self) -> None:
        """Write the public half of an existing signing key beside it if nothing pins one yet
        (a key made by an older version, which kept no public file)."""
        if not self.pinned and not self.public_key_file.exists() and self.signing_key.exists():
            self.signer()

    def signer(self):
        """The signer, its public half written beside it on first use; refuses to sign with a
        key other than the pinned one (its heads could never verify)."""
        signer = SIGNERS[self.algorithm](self.signing_key)
        if not self.pinned and not self.public_key_file.exists():
            self.public_key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.public_key_file.write_text(signer.public_key + "\n")
        if self.pinned_key() != signer.public_key.lower():
            raise ZhijingError("the audit signing key does not match the pinned public key")
        return signer
