"""Lookup keys that survive the faults departments and sensors make: plates read by OCR
(0/D/Q/O, 8/B, 1/7/I, 5/S, 2/Z), IDs, phones, and Chinese names by pinyin (homophones)
and four-corner shape codes (similar characters)."""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from zhijing.entities.features import _four_corner

# characters an OCR reader confuses, folded to one representative (after the province
# character and the authority letter, which are read reliably)
OCR_CLASSES = {"0": "0DQO", "8": "8B", "1": "17I", "5": "5S", "2": "2Z"}
OCR_FROM = "".join(c for rep, cs in OCR_CLASSES.items() for c in cs if c != rep)
OCR_TO = "".join(rep for rep, cs in OCR_CLASSES.items() for c in cs if c != rep)
_OCR = str.maketrans(OCR_FROM, OCR_TO)
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


def plate_key(plate: str | None) -> str | None:
    """The OCR-tolerant key of a plate: 浙B8D123 and 浙BB0123 share one."""
    if not plate:
        return None
    s = re.sub(r"[\s·.\-]", "", str(plate)).upper()
    return s[:2] + s[2:].translate(_OCR)


def plate_key_sql(col: str) -> str:
    """``plate_key`` as a DuckDB expression (the same folding, for joins over the lake)."""
    return f"(substr(upper({col}), 1, 2) || translate(substr(upper({col}), 3), '{OCR_FROM}', '{OCR_TO}'))"


def is_name(q: str) -> bool:
    return bool(_HAN.match(q.strip()))


@lru_cache(maxsize=200_000)
def name_tokens(name: str) -> dict[str, list[str]]:
    """Index tokens of a person's name, by field: the characters and bigrams, the pinyin
    (whole and per position), the four-corner digits per position, and the name with each
    character masked in turn (so a one-character variant shares a token)."""
    name = name.strip()
    chars = list(name)
    py = lazy_pinyin(name, style=Style.NORMAL)
    fc = _four_corner()
    shape = []
    for i, c in enumerate(chars):
        code = str(fc.query(c) or "")
        shape += [f"{i}{j}{d}" for j, d in enumerate(code[:5])]
    return {
        "name_chars": [name, *chars, *(a + b for a, b in zip(chars, chars[1:], strict=False))],
        "name_py": ["".join(py), *(f"{i}{p}" for i, p in enumerate(py))],
        "name_shape": shape,
        "name_mask": [name[:i] + "_" + name[i + 1 :] for i in range(len(name))],
    }


@lru_cache(maxsize=50_000)
def name_similarity(a: str, b: str) -> float:
    """1 for the same name; per differing character 0.85 for the same pinyin, up to 0.75
    for a similar shape (four-corner digits in common), else 0.2; names of different length
    score low."""
    if a == b:
        return 1.0
    if len(a) != len(b) or not a:
        return 0.2 if a and b and (a in b or b in a) else 0.0
    fc = _four_corner()
    score = 0.0
    for x, y in zip(a, b, strict=True):
        if x == y:
            score += 1
            continue
        if lazy_pinyin(x) == lazy_pinyin(y):
            score += 0.85
            continue
        cx, cy = str(fc.query(x) or ""), str(fc.query(y) or "")
        same = sum(p == q for p, q in zip(cx, cy, strict=False))
        score += 0.75 * same / 5 if cx and cy else 0.2
    return score / len(a)
