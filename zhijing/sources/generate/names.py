"""Chinese names as a registry sees them, and the variants clerks and OCR make of them.

Surname frequencies follow the national distribution's head; given names mix a handful
of very common ones (so 张伟 occurs many times and resolution must keep them apart) with
one- and two-character combinations.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from pypinyin import Style, lazy_pinyin

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢傅钟"
_HEAD = [7.3, 7.2, 7.0, 5.4, 4.6, 3.1, 2.2, 2.0, 2.0, 1.9, 1.8, 1.6, 1.5, 1.4, 1.3, 1.3, 1.2, 1.2, 1.1, 1.0]
SURNAME_WEIGHTS = np.array(_HEAD + [0.6] * (len(SURNAMES) - len(_HEAD)))
SURNAME_WEIGHTS = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()

COMMON_GIVEN = ["伟", "芳", "娜", "敏", "静", "秀英", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
                "秀兰", "霞", "平", "刚", "桂英", "晓明", "建华", "志强", "海燕", "文杰"]  # fmt: skip
GIVEN_CHARS = ("子梓浩宇轩然欣怡佳琪晨阳嘉诗雨涵思博文俊杰泽伟昊天一鸣晓明华建国志强海燕丽娟秀英桂兰玉梅红霞"
               "春梅金凤立新永刚德胜云飞亚楠婷婷慧敏雪莉晶晶冬梅少华国庆卫东宏伟振华世杰家豪凯瑞静怡心悦若曦")  # fmt: skip

# Clerk and OCR variants: same pronunciation, and similar shape.
HOMOPHONES = {"张": "章", "王": "汪", "李": "黎", "陈": "晨", "杨": "阳", "黄": "皇", "吴": "伍", "周": "舟", "徐": "许",
              "林": "琳", "程": "成", "晓": "小", "明": "鸣", "伟": "玮", "丽": "莉", "芳": "方", "静": "婧", "军": "君",
              "勇": "永", "杰": "洁", "涛": "滔", "艳": "燕", "娟": "鹃", "华": "桦", "国": "果", "海": "亥", "文": "雯",
              "红": "宏", "梅": "玫", "建": "健", "志": "智", "强": "蔷", "敏": "民", "平": "萍", "霞": "侠", "宇": "雨"}  # fmt: skip
SIMILAR_SHAPES = {"王": "玉", "未": "末", "己": "已", "赵": "越", "刘": "浏", "陈": "阵", "李": "季", "杨": "扬",
                  "明": "朋", "伟": "纬", "军": "车", "华": "毕", "平": "乎", "大": "太", "天": "夭", "玉": "王",
                  "晓": "哓", "东": "东", "建": "健", "春": "舂", "红": "虹", "雪": "雷", "梅": "海", "兰": "兰"}  # fmt: skip


def draw_names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(surname, given) arrays of length n."""
    surnames = rng.choice(np.array(list(SURNAMES)), size=n, p=SURNAME_WEIGHTS)
    kind = rng.random(n)
    chars = np.array(list(GIVEN_CHARS))
    one = rng.choice(chars, size=n)
    two = np.char.add(rng.choice(chars, size=n), rng.choice(chars, size=n))
    common = rng.choice(np.array(COMMON_GIVEN), size=n)
    given = np.where(kind < 0.30, common, np.where(kind < 0.55, one, two))
    return surnames, given


def _replace_one(name: str, table: dict[str, str], pick: float) -> str | None:
    positions = [i for i, c in enumerate(name) if c in table and table[c] != c]
    if not positions:
        return None
    i = positions[int(pick * len(positions)) % len(positions)]
    return name[:i] + table[name[i]] + name[i + 1 :]


def homophone(name: str, pick: float) -> str | None:
    """A same-pronunciation variant (张→章, 晓→小), or None if the name has none."""
    return _replace_one(name, HOMOPHONES, pick)


def similar_shape(name: str, pick: float) -> str | None:
    """A similar-shape variant (王→玉, 赵→越), or None."""
    return _replace_one(name, SIMILAR_SHAPES, pick)


@lru_cache(maxsize=200_000)
def airline_name(surname: str, given: str) -> str:
    """How a booking system writes a Chinese name: ZHANG/WEI."""
    sur = "".join(lazy_pinyin(surname, style=Style.NORMAL)).upper()
    giv = "".join(lazy_pinyin(given, style=Style.NORMAL)).upper()
    return f"{sur}/{giv}"
