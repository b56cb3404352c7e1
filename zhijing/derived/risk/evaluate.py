"""The model contest (众智众筹, DESIGN.md §1 5.5): each risk model scored against a generated
city's planted truth, beside its plain baseline, and the scores written to its model card.

Only this harness, tests and benchmarks read the truth folder; the models never do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from zhijing.config import Settings
from zhijing.derived.risk import aml, blackspots, crowd, fundraising, hotspots, mules, pyramid


class Truth:
    def __init__(self, city: Path):
        self.root = Path(city) / "truth"

    @classmethod
    def of_home(cls, settings: Settings) -> Truth | None:
        """The truth of the home's generated city (the demo's), or None."""
        return cls(settings.city_dir) if (settings.city_dir / "truth" / "structures").is_dir() else None

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / "structures" / f"{name}.parquet")

    def json(self, name: str) -> dict:
        return json.loads((self.root / "structures" / f"{name}.json").read_text(encoding="utf-8"))

    def file(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / f"{name}.parquet")

    def account(self, person_id: str) -> str:
        acc = self.file("accounts")
        return acc[(acc.holder_person_id == person_id) & (acc.kind == "个人")].account_no.iloc[0]


def prf(found: set, truth: set) -> dict:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if tp else 0.0, "flagged": len(found)}


def first_flag(score, settings: Settings, start, end, hit, column: str = "flagged") -> pd.Timestamp | None:
    """The first weekly run (as of each date) whose ``column`` flags satisfy ``hit``."""
    for day in pd.date_range(start, end, freq="7D"):
        s = score(settings, day)
        if len(s) and hit(s[s[column]]):
            return day
    return None


def _lead(flag: pd.Timestamp | None, event: pd.Timestamp) -> float | None:
    return None if flag is None else float((event - flag).days)


def eval_fundraising(settings: Settings, truth: Truth, end: str = "2026-06-24") -> dict:
    """Lead time of the first flag, and every company either flags over the whole window
    (run every 8 weeks): the planted company against the dealers, developers and schools."""
    fund = truth.json("fundraising")
    collapse = pd.Timestamp(fund["collapse"])
    complaint = (
        pd.to_datetime(truth.table("complaints").query("about == 'fundraising'").slsj).min().tz_localize(None)
    )
    hit = lambda f: fund["uscc"] in set(f.uscc)  # noqa: E731
    start = pd.Timestamp(fund.get("start", "2025-01-01")) + pd.Timedelta(days=6)  # weekly runs from the first deposits
    model = first_flag(fundraising.score, settings, start, collapse, hit)
    base = first_flag(fundraising.score, settings, start, collapse, hit, "baseline")
    ever: dict[str, set] = {"flagged": set(), "baseline": set()}
    for day in pd.date_range("2025-02-01", end, freq="56D"):
        s = fundraising.score(settings, day)
        for col in ever:
            ever[col] |= set(s[s[col]].uscc) if len(s) else set()
    m, b = prf(ever["flagged"], {fund["uscc"]}), prf(ever["baseline"], {fund["uscc"]})
    return {"lead_days_before_collapse": _lead(model, collapse), "lead_days_before_first_complaint": _lead(model, complaint),
            "baseline_lead_days_before_collapse": _lead(base, collapse), **{f"period_{k}": v for k, v in m.items()},
            **{f"baseline_period_{k}": v for k, v in b.items()}}  # fmt: skip


def eval_pyramid(settings: Settings, truth: Truth) -> dict:
    pc = truth.json("pyramid_collapse")
    collapse = pd.Timestamp(pc["collapse"])
    root = truth.account(pc["root"])
    complaint = (
        pd.to_datetime(truth.table("complaints").query("about == 'pyramid'").slsj).min().tz_localize(None)
    )
    model = first_flag(pyramid.score, settings, "2025-01-07", collapse, lambda f: root in set(f.root))
    s = pyramid.score(settings, collapse)
    members = {truth.account(p) for p in truth.table("pyramid").person_id}
    found = set().union(*s[s.flagged].members) if s.flagged.any() else set()
    base = s.attrs["baseline"]
    return {"lead_days_before_collapse": _lead(model, collapse), "lead_days_before_first_complaint": _lead(model, complaint),
            "root_rank": int(s.index[s.root == root][0]) + 1 if (s.root == root).any() else None,
            "member_recall": len(found & members) / len(members), "baseline_flags_root": root in base,
            "baseline_flagged": len(base)}  # fmt: skip


def eval_mules(settings: Settings, truth: Truth, as_of: str = "2026-07-01") -> dict:
    planted = set(truth.json("fraud_ring")["mule_accounts"])
    s = mules.score(settings, pd.Timestamp(as_of))
    k = len(planted)
    at_k = len(set(s.account.head(k)) & planted) / k
    m, b = prf(set(s[s.flagged].account), planted), prf(set(s[s.baseline].account), planted)
    return {**m, "precision_at_k": at_k, "k": k, **{f"baseline_{x}": v for x, v in b.items()}}


def eval_aml(settings: Settings, truth: Truth) -> dict:
    planted = truth.table("aml_accounts")
    flagged, base, _ = aml.run(settings)
    out = {f"{p}_{m}": v for p in aml.PATTERNS
           for m, v in prf(flagged[p], set(planted[planted.pattern == p].account_no)).items() if m != "flagged"}  # fmt: skip
    every = set(planted.account_no)
    out.update({f"any_{m}": v for m, v in prf(set().union(*flagged.values()), every).items()})
    out.update({f"baseline_{m}": v for m, v in prf(base, every).items()})
    return out


def lone_burglaries_per_day(events: pd.DataFrame) -> float:
    """Planted burglaries neither in a hot area nor triggered, per day: at homes anywhere."""
    days = max((events.time.max() - events.time.min()).days, 1) if len(events) else 1
    return float(((events.hotspot < 0) & (events.generation == 0)).sum() / days)


def eval_hotspots(settings: Settings, truth: Truth) -> dict:
    e = hotspots.evaluate(settings)
    planted = truth.json("crime_process")
    e["planted"] = {
        "branching": planted["branching"],
        "mean_delay_days": planted["mean_days"],
        "sigma_m": planted["sigma_m"],
        "dwelling_per_day": lone_burglaries_per_day(truth.table("crime_events")),
    }
    e["knox"] = hotspots.knox(settings, permutations=49)
    return e


def _near(lon, lat, spots: pd.DataFrame, metres: float = 250) -> np.ndarray:
    """(spots × cells) whether each ranked cell lies within ``metres`` of each spot."""
    dx = (
        (np.asarray(lon)[None, :] - spots.lon.to_numpy()[:, None])
        * 111_000
        * np.cos(np.radians(spots.lat.mean()))
    )
    dy = (np.asarray(lat)[None, :] - spots.lat.to_numpy()[:, None]) * 111_000
    return np.hypot(dx, dy) < metres


def eval_blackspots(settings: Settings, truth: Truth, top: int = 10) -> dict:
    r = blackspots.rank(settings)
    spots = truth.table("blackspots")
    out = {}
    for name, ranked in (
        ("eb", r),
        ("baseline_raw_count", r.sort_values("accidents", ascending=False, kind="stable")),
    ):
        near = _near(ranked.lon.head(top), ranked.lat.head(top), spots)
        out[f"{name}_recall_at_{top}"] = float(near.any(axis=1).mean())
        out[f"{name}_false_positives_at_{top}"] = int((~near.any(axis=0)).sum())
    out["nb_alpha"] = float(r.attrs.get("alpha", float("nan")))
    return out


def eval_crowd(settings: Settings, truth: Truth) -> dict:
    g = truth.json("crowd_gathering")
    a = crowd.alerts(settings)
    start = pd.Timestamp(g["start"], tz="Asia/Shanghai").tz_convert("UTC")
    inside = (a.window >= start - pd.Timedelta(minutes=crowd.WINDOW_MIN)) & (
        a.window < start + pd.Timedelta(minutes=g["minutes"])
    )
    windows = g["minutes"] // crowd.WINDOW_MIN
    return {"alerts": len(a), "precision": float(inside.mean()) if len(a) else 0.0, "gathering_windows_alerted": int(inside.sum()),
            "gathering_windows": windows}  # fmt: skip


def _fundraising_answers(truth: Truth):
    planted = {truth.json("fundraising")["uscc"]}
    return planted, lambda w: {w["subject"]} & planted


def _pyramid_answers(truth: Truth):
    planted = {truth.account(truth.json("pyramid_collapse")["root"])}
    return planted, lambda w: {w["evidence"]["account"]} & planted


def _mules_answers(truth: Truth):
    planted = set(truth.json("fraud_ring")["mule_accounts"])
    return planted, lambda w: {w["evidence"]["account"]} & planted


def _aml_answers(truth: Truth):
    planted = set(truth.table("aml_accounts").account_no)
    return planted, lambda w: {w["subject"], *w["evidence"]["accounts"]} & planted


def _blackspots_answers(truth: Truth):
    spots = truth.table("blackspots")
    return set(spots.spot_id), lambda w: set(
        spots.spot_id[_near([w["evidence"]["lon"]], [w["evidence"]["lat"]], spots)[:, 0]]
    )


def _crowd_answers(truth: Truth):
    g = truth.json("crowd_gathering")
    start = pd.Timestamp(g["start"], tz="Asia/Shanghai").tz_convert("UTC")
    step = pd.Timedelta(minutes=crowd.WINDOW_MIN)
    planted = set(pd.date_range(start.floor(step), start + pd.Timedelta(minutes=g["minutes"]) - step, freq=step))
    return planted, lambda w: {pd.Timestamp(w["evidence"]["window"])} & planted


# model -> truth -> (the planted answers, warning -> the answers it names); hot spots have
# none for a run (tomorrow's burglaries are not in the city): their back-test scores them
ANSWERS = {"fundraising": _fundraising_answers, "pyramid": _pyramid_answers, "mules": _mules_answers,
           "aml": _aml_answers, "blackspots": _blackspots_answers, "crowd": _crowd_answers}  # fmt: skip


def judge(name: str, warnings: list[dict], truth: Truth) -> dict:
    """One run's warnings against the planted answers: how many name one (precision), how
    many answers some warning names (recall). The card's run part, so it is the inbox's."""
    if name not in ANSWERS:
        return {}
    planted, names = ANSWERS[name](truth)
    named = [names(w) for w in warnings]
    true = sum(1 for n in named if n)
    found = set().union(*named) if named else set()
    return {"true_warnings": true, "precision": true / len(warnings) if warnings else 0.0,
            "recall": len(found) / len(planted) if planted else 0.0, "planted": len(planted)}  # fmt: skip


EVALUATORS = {"fundraising": eval_fundraising, "pyramid": eval_pyramid, "mules": eval_mules, "aml": eval_aml,
              "hotspots": eval_hotspots, "blackspots": eval_blackspots, "crowd": eval_crowd}  # fmt: skip
