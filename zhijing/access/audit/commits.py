"""Commit heads: every transaction that appends entries also signs its last entry.

A seal signs a Merkle root every few minutes; between seals the newest entries were covered by
nothing, so one holding the database could append a forged, correctly chained event (the next
seal would sign it) or delete the newest ones. A commit head closes that window: in the same
transaction as the entries it signs ``commit|last seq|its hash|signed_at`` (the hash chain makes
that cover every entry before it), stored as the one row of ``audit_commit``. After the commit
the head is appended to the commit witness file (outside the database, beside the heads'
witness), so the witness learns every head; verification reads only its newest lines.

The witness line is written after the commit and not fsynced (an fsync per commit would halve
the durable append rate): a crash can leave the witness one commit behind the database, never
ahead of it, and a witness behind is accepted — a database head newer than the witness must
still carry a valid signature by the pinned key, which whoever holds only the database cannot
make.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from zhijing.access.audit.heads import HeadReport
from zhijing.access.audit.signing import SIGNERS

FIELDS = ("seq", "chain_hash", "signed_at", "algorithm", "signature")
TAIL_BYTES = 8192  # how much of the witness file's end verify reads: many lines, however long the file


def message(head: dict) -> bytes:
    return f"commit|{head['seq']}|{head['chain_hash']}|{head['signed_at']}".encode()


def sign(signer, seq: int, chain_hash: str) -> dict:
    head = {"seq": seq, "chain_hash": chain_hash, "signed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "algorithm": signer.algorithm}  # fmt: skip
    head["signature"] = signer.sign(message(head))
    return head


def witness(path: Path, head: dict) -> None:
    """Append ``head`` to the commit witness file (one JSON line, O_APPEND: whole lines even
    with several processes writing)."""
    line = json.dumps({k: head[k] for k in FIELDS}, separators=(",", ":")) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def newest_witnessed(path: Path) -> dict | None:
    """The witnessed head of the highest seq among the file's last lines (processes may append
    out of order); None without a file; {} when the file holds no readable head."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            start = max(0, f.tell() - TAIL_BYTES)
            f.seek(start)
            lines = f.read().splitlines()[1 if start else 0 :]
    except FileNotFoundError:
        return None
    heads = []
    for line in lines:
        try:
            h = json.loads(line)
            if isinstance(h, dict) and isinstance(h.get("seq"), int):
                heads.append(h)
        except ValueError:
            continue
    return max(heads, key=lambda h: h["seq"], default={})


def _signed(head: dict, pinned: str | None, algorithm: str) -> bool:
    return bool(pinned) and head.get("algorithm") == algorithm and SIGNERS[algorithm].verify(
        pinned, message(head), str(head.get("signature")))


def check_one(head: dict, what: str, pinned: str | None, algorithm: str, last: int,
              hash_of: Callable[[int], str | None], out: HeadReport) -> bool:  # fmt: skip
    """One commit head against the pinned key and the entry it signs; True if it holds."""
    seq, problems = head["seq"], len(out.problems)
    if not _signed(head, pinned, algorithm):
        out.add(seq, f"bad signature on the {what} (entry {seq})")
    elif seq > last:
        out.truncated = max(out.truncated, seq - last)
        out.add(None, f"the {what} covers {seq - last:,} entries past the database's last")
    elif hash_of(seq) != head["chain_hash"]:
        out.add(seq, f"the {what} names another entry {seq} than the chain holds")
    return len(out.problems) == problems


def check(db_head: dict | None, witnessed: dict | None, pinned: str | None, algorithm: str, last: int,
          hash_of: Callable[[int], str | None], out: HeadReport) -> int:  # fmt: skip
    """The database's commit head and the witness's newest; returns the last entry a valid
    commit head in the database covers (0: none)."""
    covered = db_head["seq"] if db_head and check_one(db_head, "commit head", pinned, algorithm, last, hash_of, out) else 0
    if witnessed:
        check_one(witnessed, "witnessed commit head", pinned, algorithm, last, hash_of, out)
    if witnessed == {}:
        out.add(None, "the commit witness file holds no readable head")
    elif witnessed is None and db_head:
        out.add(None, "no commit witness file: the newest commit head is witnessed nowhere")
    elif witnessed and db_head and db_head["seq"] < witnessed["seq"]:
        out.add(db_head["seq"], "the database's commit head is older than the witnessed one (an old head restored)")
    return covered
