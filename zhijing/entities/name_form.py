"""One normal form of a person's name for matching: the same person written by different
clerks' systems gives the same form, so blocking keys (pinyin) and comparisons meet.

- fullwidth letters and spaces as ASCII (NFKC);
- no middle dot: the dot of transliterated names and its look-alikes (• ・ ‧ ∙ ⋅ ･ ． .) or
  its absence (热依拉吾斯曼) never tell two people apart;
- no whitespace inside (慕 容华静 is 慕容华静);
- traditional characters as simplified (慕容華静 is 慕容华静), by OpenCC's maintained
  ``t2s`` tables rather than a hand-made list.

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
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=500_000)
def normal_name(name: str | None) -> str | None:
    """The matching form of ``name`` (None for no name)."""
    if not name:
        return None
    s = unicodedata.normalize("NFKC", name)
    s = _SPACE.sub("", _DOT.sub("", s))
    return _t2s().convert(s) or None
