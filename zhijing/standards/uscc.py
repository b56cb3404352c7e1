"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), organisation type (1), division (6),
organisation code (9, GB 11714, with its own check digit), and a MOD 31 check character
over an alphabet without I, O, S, V, Z. The check arithmetic comes from python-stdnum.
"""

from __future__ import annotations

import re

from stdnum.cn import uscc as _std

from zhijing.standards.result import Normalized, invalid

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def check_char(body17: str) -> str:
    return _std.calc_check_digit(body17)


def make(division: str, org_serial: int, authority: str = "9", org_type: str = "1") -> str:
    """A valid code for a company registered in ``division`` (org_serial < 10^8)."""
    org8 = f"{org_serial:08d}"
    org9 = org8 + _org_check(org8)
    body = f"{authority}{org_type}{division}{org9}"
    return body + check_char(body)


def _org_check(org8: str) -> str:
    """GB 11714 check digit of the organisation code."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(ALPHABET.index(c) * w for c, w in zip(org8, weights, strict=True))
    r = 11 - total % 11
    return {10: "X", 11: "0"}.get(r, str(r))


def normalize(raw: object) -> Normalized:
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    s = re.sub(r"[\s\-]", "", str(raw)).upper()
    if not _SHAPE.match(s):
        return invalid("bad_shape")
    if check_char(s[:17]) != s[17]:
        return invalid("bad_check_char")
    return Normalized(s)
