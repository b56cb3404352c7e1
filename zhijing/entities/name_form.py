"""One normal form of a person's name for matching: the same person written by different
clerks' systems gives the same form, so blocking keys (pinyin) and comparisons meet.

- fullwidth letters and spaces as ASCII (NFKC);
- no middle dot: the dot of transliterated names and its look-alikes (• ・ ‧ ∙ ⋅ ･ ． .) or
  its absence (热依拉吾斯曼) never tell two people apart;
- no whitespace inside (慕 容华静 is 慕容华静);
- traditional characters as simplified (慕容華静 is 慕容华静), by OpenCC's maintained
  tables rather than a hand-made list: Taiwan and Hong Kong variants too (衞 is 卫), and
  **one character at a time** — a name is not a word, and OpenCC's phrase tables read 沈靜
  as the word 沉静 (the surname 沈 would become 沉, and its pinyin chen, 陈's).

The recorded name is kept as it was (``name``); this form is ``name_norm``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

DOTS = "·•・‧∙⋅･．.ᐧ⸱"
_DOT = re.compile("[" + re.escape(DOTS) + "]+")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _converters():
    from opencc import OpenCC

    return OpenCC("tw2s"), OpenCC("hk2s")


@lru_cache(maxsize=20_000)
def _simplified(char: str) -> str:
    for converter in _converters():
        char = converter.convert(char)
    return char


@lru_cache(maxsize=500_000)
def normal_name(name: str | None) -> str | None:
    """The matching form of ``name`` (None for no name)."""
    if not name:
        return None
    s = unicodedata.normalize("NFKC", name)
    s = _SPACE.sub("", _DOT.sub("", s))
    return "".join(map(_simplified, s)) or None
