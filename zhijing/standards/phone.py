"""Mainland mobile numbers: 11 digits starting 13–19 with a known prefix; +86 / 0086 /
86 country codes, spaces and dashes stripped; fullwidth digits (１３８…) read as digits."""

from __future__ import annotations

import re

from zhijing.standards.result import Normalized, invalid

# Prefixes allocated to mobile networks (MIIT numbering plan), first three digits.
MOBILE_PREFIXES = frozenset(
    ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167", "170", "171", "172", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
FULLWIDTH_FROM, FULLWIDTH_TO = "０１２３４５６７８９＋－", "0123456789+-"
_FULLWIDTH = str.maketrans(FULLWIDTH_FROM, FULLWIDTH_TO)
_COUNTRY = re.compile(r"^(?:\+?86|0086)(?=1\d{10}$)")


def normalize(raw: object) -> Normalized:
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    s = re.sub(r"[\s\-()（）]", "", str(raw).translate(_FULLWIDTH))
    s = _COUNTRY.sub("", s)
    if not re.fullmatch(r"1\d{10}", s):
        return invalid("bad_shape")
    if s[:3] not in MOBILE_PREFIXES:
        return invalid("unknown_prefix")
    return Normalized(s)
