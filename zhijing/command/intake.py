"""接处警 intake: a 110 call in, a triaged incident out — located, classified, linked to its plan.

``triage`` is pure (it writes nothing); core's ``store.create_incident`` stores what it returns.
Nothing a caller says raises: an empty, abusive or mixed-script narrative, an address that does
not parse, coordinates outside the city — each is kept, with the reason a person must look in
``flag`` (comma-separated).

The classifier pair and the gazetteer are loaded once per ``Intake`` object (one per app or
replay consumer), never held by the module.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from zhijing.command import classify, locate, plans
from zhijing.model import places

RECHECK_S = 30.0  # how often a held Intake looks for a new version of the address layers
LOW_CONFIDENCE = 0.5
MAX_TEXT = 2000  # characters of a narrative the classifier reads (a call is a few sentences; a paste is not)  # below this the category is a guess: a person confirms it
ABUSE = ("他妈", "妈的", "tmd", "废物", "傻逼", "sb", "艹", "操你", "滚蛋", "王八蛋")
_LATIN = re.compile(r"[A-Za-z]{2,}")
_WORDY = re.compile(r"[\w\u4e00-\u9fff]")
FIELDS = ("narrative", "address", "lon", "lat", "phone", "received_at")


def text_flags(narrative: str | None) -> list[str]:
    """What a person should know about the words of a call: nothing said, abuse, or words in
    another script (pinyin or English words, traditional characters; an acronym such as KTV or
    ATM is ordinary Chinese usage and is not one)."""
    folded = unicodedata.normalize("NFKC", narrative or "")
    if not _WORDY.search(folded):
        return ["empty_text"]
    flags = []
    if any(w in classify.normalise(folded) for w in ABUSE):
        flags.append("abusive")
    latin = [w for w in _LATIN.findall(folded) if not w.isupper()]
    if latin or classify.simplified(folded) != folded:
        flags.append("mixed_script")
    return flags


def _received(v) -> str:
    """The call's time as ISO 8601 with its offset (now, UTC, when the call carries none or junk)."""
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
    if isinstance(v, str) and v.strip():
        try:
            t = datetime.fromisoformat(v.strip())
            return (t if t.tzinfo else t.replace(tzinfo=UTC)).isoformat()
        except ValueError:
            pass
    return datetime.now(UTC).isoformat()


def _layers(settings) -> tuple[str, ...]:
    """The files of the address and station layers: a new lake version is a new tuple."""
    return tuple(places.files(settings, "address") + places.files(settings, "station"))


@dataclass
class Intake:
    """What triage needs, loaded on first use: the trained readers and the gazetteer (reloaded
    when the lake's address or station layer changes, looked at every ``RECHECK_S``)."""

    settings: object
    trained: classify.Trained | None = None
    gazetteer: locate.Gazetteer | None = None
    plans: dict | None = None
    reader: str = "model"
    layers: tuple[str, ...] | None = None
    checked: float = 0.0

    def _ready(self) -> None:
        if self.trained is None:
            self.trained = classify.train(self.settings)
        if self.gazetteer is None or (self.layers is not None and time.monotonic() - self.checked > RECHECK_S):
            self.checked, now = time.monotonic(), _layers(self.settings)
            if self.gazetteer is None or now != self.layers:
                self.gazetteer, self.layers = locate.load(self.settings), now
        if self.plans is None:
            self.plans = plans.load(self.settings)

    def triage(self, call: dict) -> dict:
        """The call plus located, lon, lat, cell, station, address_code, flag, category,
        priority, confidence, plan (id) and plan_detail."""
        self._ready()
        out = {k: call.get(k) for k in FIELDS} | {k: v for k, v in call.items() if k not in FIELDS}
        narrative = call.get("narrative")
        out["narrative"] = narrative if isinstance(narrative, str) else ("" if narrative is None else str(narrative))
        out["received_at"] = _received(call.get("received_at"))
        flags = text_flags(out["narrative"])
        place = locate.locate(self.gazetteer, call.get("address"), call.get("lon"), call.get("lat"))
        flags += place.pop("flags")
        out.update(place)
        reader = getattr(self.trained, self.reader)
        cats, prios, conf = reader.predict([out["narrative"][:MAX_TEXT]])
        out.update(category=str(cats[0]), priority=int(prios[0]), confidence=round(float(conf[0]), 3))
        if out["confidence"] < LOW_CONFIDENCE:
            flags.append("low_confidence")
        plan = plans.plan_for(self.plans, out["category"], out["priority"])
        out.update(plan=plan["id"], plan_detail=plan, flag=",".join(dict.fromkeys(flags)) or None)
        return out


def for_holder(settings, holder) -> Intake:
    """The Intake a long-lived caller holds (``app.state``, a replay run): made on first use."""
    found = getattr(holder, "intake", None)
    if not isinstance(found, Intake) or found.settings.home != settings.home:
        found = Intake(settings)
        holder.intake = found
    return found


def triage(settings, call: dict, intake: Intake | None = None, holder=None) -> dict:
    """Triage one call. Callers that triage often pass the ``Intake`` they hold, or a ``holder``
    (``app.state``) to keep one on; without either the models are loaded for this call alone."""
    if intake is None:
        intake = for_holder(settings, holder) if holder is not None else Intake(settings)
    return intake.triage(call)
