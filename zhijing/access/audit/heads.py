"""Signed tree heads: what a head signs, and the checks verify makes of the heads themselves.

A version-2 head signs its tree (first entry, size, root, hash of the last entry) and the
previous head's (first, size, root), so heads form a chain of their own: a head deleted from
the middle leaves its successor pointing at nothing. Between consecutive seals of one tree
the head stores an RFC 6962 consistency proof, checked from the heads alone. Version-1 heads
(made before this format) sign no predecessor; they are still checked against the pinned key
and the witness, but a deleted version-1 head is found only by the witness file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from zhijing.access.audit import merkle
from zhijing.access.audit import witness as wit
from zhijing.access.audit.signing import SIGNERS

VERSION = 2
NO_PREV = (0, 0, merkle.EMPTY.hex())  # what the first head names as its predecessor


def _m(h):
    return h._mapping if hasattr(h, "_mapping") else h


def message(h) -> bytes:
    m = _m(h)
    base = f"{m['kind']}|{m['first_seq']}|{m['size']}|{m['root']}|{m['chain_hash']}|{m['signed_at']}"
    if (m.get("version") or 1) == 1:
        return base.encode()
    return f"v2|{base}|{m['prev_first']}|{m['prev_size']}|{m['prev_root']}".encode()


def prev_of(h) -> tuple:
    m = _m(h)
    return m["prev_first"], m["prev_size"], m["prev_root"]


def tree_of(h) -> tuple:
    m = _m(h)
    return m["first_seq"], m["size"], m["root"]


@dataclass
class HeadReport:
    problems: list[tuple[int | None, str]] = field(default_factory=list)  # (entry, what), in order found
    missing_links: int = 0  # heads a successor names that are not in the database
    missing_witnessed: int = 0  # witnessed heads that are not in the database
    unwitnessed: int = 0  # database heads the witness file lacks or holds differently
    truncated: int = 0  # entries a witnessed head covers that the database no longer holds

    def add(self, seq: int | None, what: str) -> None:
        self.problems.append((seq, what))

    @property
    def missing(self) -> int:
        """Heads known to have existed that the database lacks (the witness knows them all; the
        chain of heads, without a witness, at least one per gap)."""
        return max(self.missing_links, self.missing_witnessed)


def check_signatures(hs, pinned: str | None, algorithm: str, out: HeadReport) -> None:
    """Every head signed by the pinned key, never by the key a head row names."""
    if hs and not pinned:
        out.add(None, "no pinned public key to check the signed heads with (audit.public_key or its file)")
        return
    for h in hs:
        if h.algorithm != algorithm or not SIGNERS[algorithm].verify(pinned, message(h), h.signature):
            out.add(h.first_seq, f"bad signature on {h.kind} head {h.id}")


def check_chain_of_heads(hs, out: HeadReport) -> None:
    """Each version-2 head names its predecessor; consecutive seals of one tree carry a
    consistency proof from the older to the newer."""
    before = None
    for h in hs:
        if h.version == 1:
            if before is not None and before.version >= VERSION:
                out.add(h.first_seq, f"head {h.id} is of the old format after a new one")
            before = h
            continue
        want = tree_of(before) if before is not None else NO_PREV
        if prev_of(h) != want:
            out.missing_links += 1
            out.add(h.first_seq, f"head {h.id} follows a head missing from the database")
        elif (before is not None and h.kind == before.kind == "seal" and h.first_seq == before.first_seq
              and not _consistent(before, h)):  # fmt: skip
            out.add(h.first_seq, f"heads {before.id} and {h.id} are not consistent (RFC 6962 proof fails)")
        before = h


def _consistent(before, h) -> bool:
    try:
        proof = [bytes.fromhex(x) for x in json.loads(h.consistency or "[]")]
        return merkle.verify_consistency(before.size, h.size, bytes.fromhex(before.root), bytes.fromhex(h.root), proof)
    except (ValueError, TypeError):  # not a proof at all
        return False


def check_witness(hs, witnessed: list[dict] | None, last: int, out: HeadReport) -> None:
    """The database's heads and the witness file's, one for one and in the same order."""
    if witnessed is None:
        if hs:
            out.unwitnessed = len(hs)
            out.add(None, f"no witness file: {len(hs)} heads in the database are witnessed nowhere")
        return
    in_db = {wit.key(h) for h in hs}
    in_file = {wit.key(w) for w in witnessed}
    absent = [w for w in witnessed if wit.key(w) not in in_db]
    out.unwitnessed = sum(wit.key(h) not in in_file for h in hs)
    if absent:
        out.missing_witnessed = len(absent)
        ends = [w["first_seq"] + w["size"] - 1 for w in absent if isinstance(w.get("size"), int) and isinstance(w.get("first_seq"), int)]
        out.truncated = max(0, max(ends, default=0) - last)
        extra = f"; they cover {out.truncated:,} entries past the database's last" if out.truncated else ""
        out.add(None, f"{len(absent)} witnessed heads are missing from the database{extra}")
    if out.unwitnessed:
        out.add(None, f"{out.unwitnessed} heads in the database are not in the witness file, or differ from it")
    common = [wit.key(h) for h in hs if wit.key(h) in in_file]
    if common != [wit.key(w) for w in witnessed if wit.key(w) in in_db]:
        out.add(None, "the database holds the witnessed heads in another order")
