"""110 call narratives with their labels (category, priority), written as callers speak and
call-takers type: varied templates (data/calls_110.yaml) with fillers, homophone typos, pinyin,
English and traditional characters, abuse, a missing place and calls cut short.

The city's ``incident_110`` narratives come from here (records.incidents), and so does the
corpus a dispatch classifier trains on: ``corpus(n, seed, split)``. Every fourth template is
held out of the ``train`` split and is all the ``heldout`` split uses, so a score on it is a
score on phrasings the classifier has never seen.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

DATA = Path(__file__).with_name("data") / "calls_110.yaml"
SPLITS = ("train", "heldout", "all")
TAIL_RATE = 0.4  # calls that end with something more than the event
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Call:
    narrative: str
    category: str
    priority: int
    template: str  # category/index: which phrasing the call came from
    noise: str  # comma-separated kinds of noise applied ("" when clean)
    place_said: bool  # whether the narrative names the place


@cache
def spec() -> dict:
    """The templates and noise tables (read once: package data, never changed)."""
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def categories() -> list[str]:
    return list(spec()["categories"])


def shares() -> dict[str, float]:
    """How often each category is called in (sums to 1)."""
    raw = {k: float(v["share"]) for k, v in spec()["categories"].items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def _held_out(i: int) -> bool:
    return i % 4 == 3


def _pick(r: random.Random, items: list, split: str):
    """An item of ``items`` the split may use (held-out items only in ``heldout``; all in ``all``)."""
    if split == "all":
        return r.randrange(len(items))
    allowed = [i for i in range(len(items)) if _held_out(i) == (split == "heldout")] or list(range(len(items)))
    return r.choice(allowed)


def _fill(r: random.Random, text: str, place: str, words: dict) -> str:
    slots = {**spec()["slots"], **words}
    return _SLOT.sub(lambda m: place if m.group(1) == "place" else r.choice(slots[m.group(1)]), text)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@cache
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def _pinyin_word(r: random.Random, text: str) -> str:
    """Two to four characters written in toneless pinyin, as a caller typing an SMS or a
    call-taker in a hurry does."""
    from pypinyin import lazy_pinyin

    hanzi = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff"]
    if len(hanzi) < 2:
        return text
    start = r.choice(hanzi[:-1])
    end = start
    while end + 1 < len(text) and end - start < 3 and "\u4e00" <= text[end + 1] <= "\u9fff":
        end += 1
    return f"{text[:start]} {' '.join(lazy_pinyin(text[start : end + 1]))} {text[end + 1 :]}"


def _noisy(r: random.Random, text: str, rates: dict[str, float], scale: float) -> tuple[str, list[str]]:
    noise = spec()["noise"]
    done = []

    def hit(kind: str) -> bool:
        if r.random() < rates[kind] * scale:
            done.append(kind)
            return True
        return False

    if text and hit("typo"):
        table = noise["homophones"]
        spots = [i for i, c in enumerate(text) if c in table]
        for i in r.sample(spots, min(len(spots), r.randint(1, 2))):
            text = text[:i] + table[text[i]] + text[i + 1 :]
    if text and hit("filler"):
        parts = re.split(r"([，。！？])", text)
        i = r.randrange(0, len(parts), 2)
        parts[i] = f"{r.choice(noise['filler'])}，{parts[i]}" if r.random() < 0.5 else f"{parts[i]}{r.choice(noise['filler'])}"
        text = "".join(parts)
    if text and hit("pinyin"):
        text = _pinyin_word(r, text)
    if hit("english"):
        text = f"{r.choice(noise['english'])} {text}" if r.random() < 0.5 else f"{text} {r.choice(noise['english'])}"
    if hit("abuse"):
        text = f"{r.choice(noise['abuse'])}！{text}" if r.random() < 0.5 else f"{text}，{r.choice(noise['abuse'])}"
    if text and hit("traditional"):
        text = _s2t().convert(text)
    if text and hit("fullwidth"):
        text = _fullwidth(text)
    if len(text) > 8 and hit("cut"):
        text = text[: r.randint(len(text) // 2, len(text) - 2)]
    return text, done


def narrative(r: random.Random, category: str, place: str | None = None, split: str = "all", noise: float = 1.0) -> Call:
    """One call about ``category`` at ``place`` (None or a missing-place draw: the caller names
    no place). ``noise`` scales every noise rate (0: clean template text)."""
    s = spec()
    cat = s["categories"][category]
    rates = s["noise"]["rates"]
    i = _pick(r, cat["templates"], split)
    text, priority = cat["templates"][i]
    applied = []
    place_said = bool(place) and "{place}" in text
    if "{place}" in text and (not place or r.random() < rates["no_place"] * noise):
        place, place_said = r.choice(s["places_unknown"]), False
        applied.append("no_place")
    body = _fill(r, text, place or "", cat.get("words", {}))
    if body:
        tail, raised = s["tails"][_pick(r, s["tails"], split)] if r.random() < TAIL_RATE else ("", None)
        if tail:
            body = f"{body}，{tail}"
            if raised and cat["escalates"]:
                priority = min(priority, raised)
        opener = s["openers"][_pick(r, s["openers"], split)]
        body = f"{opener}{body}。" if not body.endswith(("。", "？", "！", "）")) else f"{opener}{body}"
    body, kinds = _noisy(r, body, rates, noise)
    return Call(body, category, int(priority), f"{category}/{i}", ",".join(applied + kinds), place_said)


def corpus(n: int, seed: int, split: str = "train", noise: float = 1.0, places: list[str] | None = None) -> pd.DataFrame:
    """``n`` labelled calls (call_id, narrative, category, priority, template, noise), categories
    drawn by their share; ``places`` (standard address texts) fill the place slot when given."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    r = random.Random(seed)
    cats, weights = zip(*shares().items(), strict=True)
    rows = []
    for k in range(n):
        place = r.choice(places) if places else f"{r.choice(['中山', '解放', '人民', '学士', '长春'])}路{r.randint(1, 999)}号"
        c = narrative(r, r.choices(cats, weights)[0], place, split, noise)
        rows.append({"call_id": f"C{seed:04d}{k:07d}", "narrative": c.narrative, "category": c.category,
                     "priority": c.priority, "template": c.template, "noise": c.noise})  # fmt: skip
    return pd.DataFrame(rows)


def spoken_address(r: random.Random, text: str, noise: float = 1.0) -> tuple[str, str]:
    """A standard address as a caller says it, and the noise applied (comma-separated)."""
    a = spec()["address"]
    rates, done = a["rates"], []

    def hit(kind: str) -> bool:
        if r.random() < rates[kind] * noise:
            done.append(kind)
            return True
        return False

    if hit("no_province"):
        text = re.sub(r"^.{2,3}省", "", text)
        if hit("no_city"):
            text = re.sub(r"^.{2,3}市(?=.{2,3}[区县市])", "", text)
    if hit("cut"):
        text = re.sub(r"(号|幢|单元).*?$", r"\1", text, count=1) if r.random() < 0.5 else re.sub(r"(小区).*$", r"\1", text)
    if hit("typo"):
        spots = [i for i, c in enumerate(text) if c in a["homophones"]]
        if spots:
            i = r.choice(spots[len(spots) // 3 :])  # a street or an estate, seldom the district
            text = text[:i] + a["homophones"][text[i]] + text[i + 1 :]
    if hit("traditional"):
        text = _s2t().convert(text)
    if hit("fullwidth"):
        text = _fullwidth(text)
    if hit("spaces"):
        text = re.sub(r"(区|县|路|街|道|号)", r"\1 ", text)
    if hit("landmark"):
        text += r.choice(a["landmarks"])
    return text, ",".join(done)
