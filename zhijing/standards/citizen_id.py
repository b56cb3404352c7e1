"""Citizen identity numbers (公民身份号码, GB 11643-1999).

18 characters: six-digit division (GB/T 2260), birth date YYYYMMDD, three-digit sequence
(odd = male), and an ISO 7064 MOD 11-2 check character. Legacy 15-digit numbers (issued
before 1999) have a two-digit year and no check character; they upgrade to 18.
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

from zhijing.standards.divisions import is_known
from zhijing.standards.result import Normalized, invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")
_SHAPE_18 = re.compile(r"^\d{17}[\dX]$")
_SHAPE_15 = re.compile(r"^\d{15}$")


def check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True)) % 11]


def upgrade_15(old: str) -> str:
    """15-digit legacy number -> 18: insert century '19' and append the check character."""
    body = old[:6] + "19" + old[6:]
    return body + check_char(body)


def make(division: str, birth: date, seq: int) -> str:
    """A valid number from its parts (seq 0..999; odd = male)."""
    body = f"{division}{birth:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def _clean(raw: object) -> str:
    return re.sub(r"[\s\-]", "", str(raw)).translate(_FULLWIDTH).upper()


def _birth(s18: str) -> date | None:
    try:
        return date(int(s18[6:10]), int(s18[10:12]), int(s18[12:14]))
    except ValueError:
        return None


def normalize(raw: object, today: date | None = None) -> Normalized:
    """The standard 18-character form, or why there is none."""
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    s = _clean(raw)
    if _SHAPE_15.match(s):
        s = upgrade_15(s)
    elif not _SHAPE_18.match(s):
        return invalid("bad_shape")
    if check_char(s[:17]) != s[17]:
        return invalid("bad_check_char")
    born = _birth(s)
    if born is None or born.year < 1880 or born > (today or date.today()):
        return invalid("bad_birth_date")
    if not is_known(s[:6]):
        return invalid("unknown_division")
    return Normalized(s)


class IdFacts(NamedTuple):
    division: str
    birth_date: date
    sex: str  # "男" / "女"


def facts(valid18: str) -> IdFacts:
    """What a valid number says about its holder (used to cross-check stated values)."""
    born = _birth(valid18)
    assert born is not None
    return IdFacts(valid18[:6], born, "男" if int(valid18[16]) % 2 else "女")
