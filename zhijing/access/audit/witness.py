"""The witness file: every signed head, appended as one JSON line (and fsynced) when it is
made, in a file outside the audit database. Verify compares the database's heads with it, so
deleting, replacing or re-signing heads in the database alone is found."""

from __future__ import annotations

import json
import os
from pathlib import Path

# the fields of a head that must agree between the database and the witness
FIELDS = ("version", "kind", "first_seq", "size", "root", "chain_hash", "signed_at", "prev_first", "prev_size",
          "prev_root", "algorithm", "signature")  # fmt: skip


def record(head) -> dict:
    """A head (row or dict) as the witness holds it."""
    m = head._mapping if hasattr(head, "_mapping") else head
    return {k: m.get(k) for k in (*FIELDS, "consistency")}


def append(path: Path, head) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = json.dumps(record(head), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> list[dict] | None:
    """The witnessed heads in order; None when there is no witness file. A line that is not a
    head is kept as an empty record, so it counts as a head the database lacks."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({})
    return out


def key(head) -> tuple:
    m = head._mapping if hasattr(head, "_mapping") else head
    return tuple(m.get(k) for k in FIELDS)
