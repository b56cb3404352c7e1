"""Motor vehicle plates (机动车号牌, GA 36).

Ordinary: province abbreviation + issuing-authority letter + 5 characters (letters
without I and O, digits), e.g. 浙B12345. New-energy: 6 characters after the letter, the
first or last being D/F (small: D or F first; large: D or F last), e.g. 浙BD12345.
Special series end in 警 / 学 / 挂 / 领 / 港 / 澳 / 试 / 超, or start 使 (embassy).
"""

from __future__ import annotations

import re
from typing import Literal

from zhijing.standards.result import Normalized, invalid

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_ALNUM = "[A-HJ-NP-Z0-9]"
_ORDINARY = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z]{_ALNUM}{{5}}$")
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z](?:[DF]{_ALNUM}\d{{4}}|\d{{5}}[DF])$")
_SPECIAL = re.compile(rf"^[{PROVINCES}][A-HJ-NP-Z]{_ALNUM}{{4}}[警学挂领港澳试超]$")
_EMBASSY = re.compile(r"^使\d{6}$")
_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
)

Kind = Literal["ordinary", "new_energy", "special", "embassy"]


def _clean(raw: object) -> str:
    return re.sub(r"[\s·.\-•・]", "", str(raw)).translate(_FULLWIDTH).upper()


def kind(plate: str) -> Kind | None:
    if _NEW_ENERGY.match(plate):
        return "new_energy"
    if _ORDINARY.match(plate):
        return "ordinary"
    if _SPECIAL.match(plate):
        return "special"
    if _EMBASSY.match(plate):
        return "embassy"
    return None


def normalize(raw: object) -> Normalized:
    if raw is None or str(raw).strip() == "":
        return invalid("missing")
    s = _clean(raw)
    if kind(s) is None:
        return invalid("bad_shape")
    return Normalized(s)
