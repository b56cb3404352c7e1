"""What a search box query is (意图识别): an ID or part of one, a phone, a plate (spaces and
OCR misreads folded), a case or record number, a person's name (homophones, pinyin), a
crime or incident word, an address or place — or plain text. A query may be several at
once; each intent carries a confidence, and the search runs each one against the kinds it
finds (a name against persons, a crime word against incidents and cases), so a name is one
intent among several and never takes the box over (抢劫 is a crime, not 吴杰)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import jieba
import jieba.posseg

from zhijing.derived.workbench.keys import OCR_CLASSES, plate_key
from zhijing.standards import citizen_id, phone
from zhijing.standards.plate import PROVINCES

jieba.setLogLevel(60)

# the 120 most common surnames (of the 2020 census), the compound ones after
SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾萧肖田董潘袁蔡蒋余于杜叶程魏苏吕丁沈任姚卢傅钟"
               "姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文"
               "施洪辛柯庄章伍殷倪樊涂兰柏舒")  # fmt: skip
COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙")
# crimes and incidents (案件性质 / 警情类别) as officers and callers name them
CRIME_WORDS = set(["盗窃", "偷盗", "被盗", "失窃", "扒窃", "入室", "撬锁", "抢劫", "抢夺", "抢", "偷", "诈骗", "被骗", "电诈", "电信诈骗", "网络诈骗", "集资", "非法集资", "传销", "伤害", "故意伤害", "斗殴", "打架", "殴打", "打人", "寻衅滋事", "滋事", "纠纷", "争执", "求助", "交通事故", "事故", "肇事", "逃逸", "火灾", "着火", "失火", "走失", "失踪", "吸毒", "贩毒", "毒品", "赌博", "聚赌", "杀人", "命案", "强奸", "猥亵", "绑架", "拐卖", "敲诈", "勒索", "噪音", "扰民", "醉酒", "持刀", "枪支", "可疑", "警情", "报警", "盗抢", "碰瓷", "卖淫", "嫖娼", "洗钱", "跑分", "诈骗案", "盗窃案", "抢劫案", "案件", "刑事", "行政"])  # fmt: skip
PLACE_SUFFIXES = ("路", "街", "道", "巷", "弄", "号", "村", "镇", "乡", "区", "县", "市", "省", "小区", "花园", "苑", "大厦", "广场", "公寓",
                  "酒店", "宾馆", "旅馆", "饭店", "站", "机场", "码头", "医院", "学校", "大学", "中学", "小学", "商场", "超市", "公园", "桥",
                  "幢", "栋", "单元", "室", "卡口", "派出所", "网吧", "府", "园", "城", "湾", "港")  # fmt: skip
TAILS = (4, 6)  # the last digits of an ID or a phone, as officers quote them (尾号); the index keys them as ``tail:…``
_SPACES = re.compile(r"[\s·.\-•・_]+")
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",
                           "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")  # fmt: skip
_PLATE = re.compile(rf"^([{PROVINCES}])?([A-Z0-9])([A-Z0-9]{{5,6}})([警学挂领港澳试超])?$")
_DIGITS = re.compile(r"^\d{3,17}[\dX]$")
_RECORD = re.compile(r"^[A-Z]{1,4}\d{6,}$")  # 案件编号 A3302…, 接警单 JJ…, 单号: letters then digits
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_PINYIN = re.compile(r"^[a-z]+( [a-z]+){0,3}$")
# the letter of the issuing authority as OCR reads it wrong: a digit or a letter plates never use (I, O)
_AUTHORITY = {d: [c for c in cs if c.isalpha() and c not in "IO"] for d, cs in OCR_CLASSES.items()} | {"O": ["D", "Q"], "6": ["G"], "4": ["A"]}

LABELS = {"id": ("公民身份号码", "Citizen ID"), "id_partial": ("部分证件号/尾号", "Partial ID or phone tail"), "phone": ("手机号", "Phone"),
          "phone_partial": ("部分手机号", "Partial phone"), "plate": ("车牌", "Plate"), "record_no": ("案件/单据编号", "Case or record no."),
          "name": ("人名", "Person name"), "pinyin": ("人名拼音", "Name in pinyin"), "crime": ("警情/案件", "Crime or incident"),
          "place": ("地址/地点", "Address or place"), "text": ("全文", "Full text")}  # fmt: skip


@dataclass(frozen=True)
class Intent:
    """One reading of the query: ``kind`` (a key of LABELS), its confidence, the index keys
    to look up (exact), key prefixes (regular expressions over keys) and the words (text)."""

    kind: str
    confidence: float
    keys: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    value: str = ""
    notes: tuple[str, ...] = field(default=())

    def shown(self) -> dict:
        zh, en = LABELS[self.kind]
        return {"kind": self.kind, "label": zh, "label_en": en, "confidence": round(self.confidence, 2), "value": self.value,
                "notes": list(self.notes)}  # fmt: skip


def clean(q: str) -> str:
    """The query without separators (spaces, dots, dashes), full-width folded, upper-cased."""
    return _SPACES.sub("", (q or "").translate(_FULLWIDTH)).upper()


def plates(q: str) -> list[str]:
    """The plates a typed or misread plate may be: 浙B 12345 → 浙B12345; 浙812345 (B read as
    8) → 浙B12345; no province (B12345) → every province. Patterns, not plates, where the
    province is missing (``.`` stands for it)."""
    s = clean(q)
    m = _PLATE.match(s)
    if not m or not (m.group(1) or any(c.isdigit() for c in m.group(3))):  # without a province, a word of letters is no plate
        return []
    prov, auth, rest, tail = m.group(1) or ".", m.group(2), m.group(3), m.group(4) or ""
    letters = [auth] if auth.isalpha() and auth not in "IO" else _AUTHORITY.get(auth, [])
    return [f"{prov}{a}{rest}{tail}" for a in letters]


def plate_keys(q: str) -> tuple[list[str], list[str]]:
    """(exact keys, key patterns) of the plates ``q`` may be (OCR folded as the index has them)."""
    keys, patterns = [], []
    for p in plates(q):
        key = plate_key(p.replace(".", "浙")) or ""
        if p.startswith("."):
            patterns.append("plate:." + re.escape(key[1:]))
        else:
            keys.append("plate:" + key)
    return keys, patterns


def _is_surnamed(s: str) -> bool:
    return s[:2] in COMPOUND or s[0] in SURNAMES


@lru_cache(maxsize=10_000)
def _tags(q: str) -> tuple[tuple[str, str], ...]:
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(q))


def _name_confidence(q: str, crime: bool, place: bool) -> float:
    """How likely a run of 2–4 Han characters is a person's name: a surname first, tagged a
    name (nr) or no dictionary word; a crime, a place or a common word is much less likely."""
    if not 2 <= len(q) <= 4 or not _HAN.match(q):
        return 0.0
    if crime:
        return 0.1
    tags = _tags(q)
    one_word = len(tags) == 1
    tagged_name = one_word and tags[0][1].startswith("nr")
    if not _is_surnamed(q):  # a clerk's homophone or a misread shape of the surname (晨 for 陈, 玉 for 王) is still a name
        return 0.3 if place else 0.6 if tagged_name or not one_word else 0.5
    if place:
        return 0.3
    freq = jieba.get_FREQ(q) or 0
    if tagged_name or not one_word or freq < 50:
        return 0.95
    return 0.5  # a surname but a common word (高明, 马路): a name only if someone bears it


_PUNCT = re.compile(r"^[\s\W_]+$")


@lru_cache(maxsize=400_000)
def segment(text: str) -> tuple[str, ...]:
    """jieba's search-mode tokens of a text, punctuation dropped."""
    return tuple(t for t in jieba.cut_for_search(text) if t.strip() and not _PUNCT.match(t))


def _words(q: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*segment(q), *(t.lower() for t in segment(q) if t.isascii())]))


@lru_cache(maxsize=10_000)
def classify(q: str) -> tuple[Intent, ...]:
    """The intents of a query, most confident first: a query of several words (李娜 盗窃) is
    each word's intents too, unless the whole is a plate or a pinyin name."""
    q = (q or "").strip()
    whole = _classify(q)
    parts = q.split()
    if len(parts) < 2 or any(i.kind in ("plate", "pinyin", "id", "phone") for i in whole):
        return whole
    seen = {(i.kind, i.value) for i in whole}
    more = [i for p in parts for i in _classify(p) if i.kind != "text" and (i.kind, i.value) not in seen]
    return tuple(sorted((*whole, *more), key=lambda i: -i.confidence))


def _classify(q: str) -> tuple[Intent, ...]:
    out: list[Intent] = []
    s = clean(q)
    cid = citizen_id.normalize(s)
    if cid.ok:
        out.append(Intent("id", 1.0, keys=(cid.value,), value=cid.value))
    ph = phone.normalize(s)
    if ph.ok and not cid.ok:
        out.append(Intent("phone", 1.0, keys=(ph.value,), value=ph.value))
    if len(s) in (15, 18) and s[:17].isdigit() and not cid.ok:  # an ID of a wrong check digit is still looked up as typed
        out.append(Intent("id", 0.8, keys=(s,), value=s, notes=("校验位不符",)))
    elif _DIGITS.match(s) and not cid.ok and not ph.ok:
        keys = (f"tail:{s}",) if len(s) in TAILS else ()
        prefix = (rf"{s}[0-9X]*",) if 6 <= len(s) < 18 and s[0] in "123456789" else ()
        if keys or prefix:
            out.append(Intent("id_partial", 0.8, keys=keys, patterns=prefix, value=s,
                              notes=("尾号" if keys else "前缀",)))  # fmt: skip
        if 7 <= len(s) <= 10 and s.startswith("1"):
            out.append(Intent("phone_partial", 0.6, patterns=(rf"{s}[0-9]*",), value=s))
    pk, pp = plate_keys(q)
    if pk or pp:
        notes = ("空格已去除",) if s != q.upper() else ()
        if plates(q) and plates(q)[0][1] != s[1 if s[0] in PROVINCES else 0]:
            notes += ("号牌字母按识别误差纠正",)
        out.append(Intent("plate", 1.0 if pk else 0.85, keys=tuple(pk), patterns=tuple(pp), value=(plates(q) or [s])[0], notes=notes))
    if _RECORD.match(s) and not out:
        out.append(Intent("record_no", 0.9, keys=(s,), patterns=(rf"{re.escape(s)}[0-9A-Z]*",) if len(s) >= 6 else (), value=s))
    words = _words(q)
    crime = any(w in CRIME_WORDS for w in words) or q in CRIME_WORDS
    place = not out and _HAN.match(q[:1] or "x") is not None and (q.endswith(PLACE_SUFFIXES) or (not _is_surnamed(q) and any(f.startswith("ns") for _, f in _tags(q)))
                                                      or any(w.endswith(PLACE_SUFFIXES) and len(w) > 1 for w in words))  # fmt: skip
    if crime and not out:
        out.append(Intent("crime", 0.95, words=words, value=" ".join(w for w in words if w in CRIME_WORDS) or q))
    name = _name_confidence(q, crime, place)
    if name > 0.1:
        out.append(Intent("name", name, value=q))
    if q.isascii() and _PINYIN.match(q.lower()) and len(q.replace(" ", "")) >= 3:
        out.append(Intent("pinyin", 0.8, value=q.replace(" ", "").lower()))
    if place and not crime:
        out.append(Intent("place", 0.9 if name < 0.9 else 0.6, words=words, value=q))
    if q:  # every query is text too, below what it was read as
        strong = max((i.confidence for i in out), default=0.0)
        exact = tuple(dict.fromkeys([q.upper(), s]))  # a code, a VIN, an account or USCC is looked up as typed
        out.append(Intent("text", 0.5 if strong < 0.5 else 0.3, keys=exact, words=words, value=q))
    return tuple(sorted(out, key=lambda i: -i.confidence))
