"""Text files as departments send them: tell the encoding, find the lines, never hold one.

A department's CSV may be GBK or UTF-8 whatever its catalog entry says, may end in a
truncated line, and may contain a single multi-gigabyte "line". ``scan_text`` walks the
file in fixed-size chunks (NumPy finds the newlines), so memory stays bounded by the
chunk plus the line-length cap. Lines over the cap are reported and blanked. Line endings
are counted (LF, CRLF, bare CR); any CR makes every ending a LF, so a Windows or old-Mac
export reads like any other (a CRLF file once landed 0 rows). The file DuckDB reads is the
original when it is UTF-8 with LF endings and no over-long line, else a sanitized UTF-8
copy with the same line numbering.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from charset_normalizer import from_bytes

from zhijing.errors import ZhijingError

CHUNK = 8 << 20
SAMPLE = 1 << 20
PREFIX_BYTES = 4096
_UTF8 = {"utf-8", "utf_8", "utf8", "ascii", "utf-8-sig", "utf_8_sig"}
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030"}


def _canonical(name: str) -> str:
    name = codecs.lookup(name).name.replace("_", "-")
    return _ALIASES.get(name, name)


def _error_rate(sample: bytes, encoding: str) -> float:
    text = sample.decode(encoding, errors="replace")
    return text.count("\ufffd") / max(1, len(text))


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """The codec to read ``path`` with: the declared one if it fits the first megabyte,
    else UTF-8 or GB18030 (a GBK superset), else charset-normalizer's best guess."""
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE)
    if not sample:
        return "utf-8"
    cut = sample.rfind(b"\n")
    if 0 < cut < len(sample) - 1 and len(sample) == SAMPLE:
        sample = sample[: cut + 1]  # do not judge a character cut by the sample's end
    if sample.count(b"\x00") > len(sample) // 100:
        raise ZhijingError(f"{path.name}: binary content, not a text file")
    candidates = [_canonical(declared)] if declared else []
    candidates += [c for c in ("utf-8", "gb18030") if c not in candidates]
    rates = {c: _error_rate(sample, c) for c in candidates}
    best = min(candidates, key=lambda c: rates[c])  # stable: the declared one wins ties
    if rates[best] <= 0.01:  # a few garbage lines are quarantined later, not a reason to guess
        return best
    guess = from_bytes(sample).best()
    if guess is None or _error_rate(sample, guess.encoding) > 0.01:
        raise ZhijingError(f"{path.name}: cannot tell the text encoding (binary or corrupt content)")
    return _canonical(guess.encoding)


@dataclass
class TextScan:
    """What a chunked pass over a text file found."""

    path: Path  # the file to parse (original, or sanitized UTF-8 copy)
    encoding: str  # the source's encoding
    sha256: str
    size: int
    lines: int  # physical lines, including a last one without newline
    blank: list[int] = field(default_factory=list)
    long: list[tuple[int, str]] = field(default_factory=list)  # (line, decoded prefix)
    endings: dict[str, int] = field(default_factory=dict)  # lf / crlf / cr counts of the original

    @property
    def skipped(self) -> list[int]:
        """Lines the parser will not return as rows (blank or blanked)."""
        return sorted(set(self.blank) | {n for n, _ in self.long})


class _Scanner:
    """One pass over the bytes; optionally writes the kept bytes (transcoded) to ``sink``."""

    def __init__(self, cap: int, encoding: str, sink=None, normalize: bool = False) -> None:
        self.cap = cap
        self.normalize = normalize  # CRLF and bare CR become LF (safe in GBK/GB18030: 0x0D is never a trail byte)
        self.cr_tail = False
        self.encoding = encoding
        self.sink = sink
        self.decoder = None if encoding in _UTF8 else codecs.getincrementaldecoder(encoding)(errors="replace")
        self.line_no = 0
        self.pending = b""
        self.dropping = False
        self.prefix = b""
        self.blank: list[int] = []
        self.long: list[tuple[int, str]] = []

    def _emit(self, data: bytes, final: bool = False) -> None:
        if self.sink is None:
            return
        if self.decoder is not None:
            data = self.decoder.decode(data, final).encode("utf-8")
        self.sink.write(data)

    def _long(self, line: int, prefix: bytes) -> None:
        self.long.append((line, prefix.decode(self.encoding, errors="replace")))

    def feed(self, chunk: bytes) -> None:
        if self.normalize:
            if self.cr_tail:
                chunk, self.cr_tail = b"\r" + chunk, False
            if chunk.endswith(b"\r"):
                chunk, self.cr_tail = chunk[:-1], True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self.pending + chunk if self.pending else chunk
        arr = np.frombuffer(buf, np.uint8)
        nl = np.flatnonzero(arr == 10)
        if len(nl) == 0:
            self._hold(buf)
            return
        starts = np.concatenate(([0], nl[:-1] + 1))
        lengths = nl - starts
        numbers = self.line_no + 1 + np.arange(len(nl))
        is_long = lengths > self.cap
        if self.dropping:
            is_long[0] = True
        before = arr[np.maximum(nl - 1, 0)]
        is_blank = ((lengths == 0) | ((lengths == 1) & (before == 13))) & ~is_long
        self.blank.extend(int(n) for n in numbers[is_blank])
        if is_long.any():
            pieces, pos = [], 0
            for i in np.flatnonzero(is_long):
                start = int(starts[i])
                self._long(int(numbers[i]), self.prefix if (i == 0 and self.dropping) else buf[start : start + PREFIX_BYTES])
                pieces.append(buf[pos:start])
                pos = int(nl[i])  # keep the newline: line numbers stay put
            pieces.append(buf[pos : int(nl[-1]) + 1])
            self._emit(b"".join(pieces))
            self.dropping = False
        else:
            self._emit(buf[: int(nl[-1]) + 1])
        self.line_no += len(nl)
        self._hold(buf[int(nl[-1]) + 1 :])

    def _hold(self, tail: bytes) -> None:
        if self.dropping or len(tail) > self.cap:
            if not self.dropping:
                self.prefix = tail[:PREFIX_BYTES]
                self.dropping = True
            self.pending = b""
        else:
            self.pending = tail

    def finish(self) -> None:
        if self.cr_tail:
            self.cr_tail = False
            self.feed(b"\n")
        if self.dropping:
            self.line_no += 1
            self._long(self.line_no, self.prefix)
        elif self.pending:
            self.line_no += 1
            self._emit(self.pending)
        self._emit(b"", final=True)


class _Endings:
    """Counts LF, CRLF and bare CR over chunks (a CRLF may straddle two chunks)."""

    def __init__(self) -> None:
        self.cr = self.lf = self.crlf = 0
        self.last_cr = False

    def feed(self, chunk: bytes) -> None:
        crlf = chunk.count(b"\r\n") + (1 if self.last_cr and chunk[:1] == b"\n" else 0)
        self.crlf += crlf
        self.cr += chunk.count(b"\r")
        self.lf += chunk.count(b"\n")
        self.last_cr = chunk.endswith(b"\r")

    def counts(self) -> dict[str, int]:
        return {"lf": self.lf - self.crlf, "crlf": self.crlf, "cr": self.cr - self.crlf}


def _pass(path: Path, cap: int, encoding: str, sink=None, normalize: bool = False) -> tuple[_Scanner, str, int, dict]:
    scanner = _Scanner(cap, encoding, sink, normalize)
    endings = _Endings()
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            endings.feed(chunk)
            size += len(chunk)
            scanner.feed(chunk)
    scanner.finish()
    return scanner, digest.hexdigest(), size, endings.counts()


def scan_text(path: Path, encoding: str, cap: int, work_dir: Path) -> TextScan:
    """Scan ``path`` (hash, lines, line endings, blank and over-long lines) and give DuckDB
    a UTF-8 file with LF endings and the same line numbers."""
    encoding = _canonical(encoding)
    if encoding in _UTF8:
        scanner, sha, size, endings = _pass(path, cap, encoding)
        if not scanner.long and not endings["crlf"] and not endings["cr"]:
            return TextScan(path, encoding, sha, size, scanner.line_no, scanner.blank, scanner.long, endings)
    out = work_dir / f"{path.stem}.utf8.txt"
    with open(out, "wb") as sink:
        scanner, sha, size, endings = _pass(path, cap, encoding, sink, normalize=True)
    return TextScan(out, encoding, sha, size, scanner.line_no, scanner.blank, scanner.long, endings)
