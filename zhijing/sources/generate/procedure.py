"""A year of a county's cases as its case-handling system (执法办案系统) records them: every
step with its time, handler and approver, the documents issued, the property seized and its
custody records — and, planted among them with the truth beside them, what supervision must
find: time limits overrun, persons held too long, documents never issued, closures without
the required approval, seized items never booked into custody; and steps the law forbids
(wrong order, back-dated, approved by the handler, an extension without its condition,
a document for the wrong state), which the platform's replay must refuse.

The scenarios keep every lawful step well inside its limit whatever the holidays (a planted
overrun lies beyond the longest holiday a limit can run over), so the truth needs no calendar.
The step vocabulary is the system's; the platform's rules decide what is lawful."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

H, D = timedelta(hours=1), timedelta(days=1)
BJ = timedelta(hours=8)
CLOSING = ("不予立案", "撤案", "移送审查起诉", "结案", "不予处罚")
CRIMINAL = [("盗窃", "嫌疑人趁无人之机入室盗窃财物。"), ("诈骗", "嫌疑人冒充客服骗取受害人转账。"),
            ("故意伤害", "双方因琐事争执，嫌疑人持械伤人。"), ("抢劫", "嫌疑人持刀抢走受害人手机。")]  # fmt: skip
ADMIN = [("殴打他人", "双方因停车问题发生冲突。"), ("寻衅滋事", "嫌疑人酒后在公共场所滋事。"), ("盗窃", "嫌疑人在超市窃取商品。"),
         ("赌博", "多人在出租屋内赌博。")]  # fmt: skip
ITEMS = ["手机", "笔记本电脑", "现金", "银行卡", "电动自行车", "管制刀具", "赃物首饰"]
# how often each planted fault occurs (per case, or per step / item that can carry it)
RATES = {"illegal": 0.02, "late_filing": 0.02, "held_late": 0.03, "forgotten": 0.01, "late_decision": 0.02,
         "late_admin": 0.03, "unapproved": 0.02, "missing_doc": 0.02, "gap": 0.05}  # fmt: skip


def default_units() -> pd.DataFrame:
    """A county when no city is given: the city bureau, one branch, six stations."""
    rows = [("330200000000", "宁波市公安局", "市局", ""), ("330212000000", "宁波市公安局鄞州区分局", "分局", "330200000000")]
    rows += [(f"3302120{k}0000", f"鄞州区第{k}派出所", "派出所", "330212000000") for k in range(1, 7)]
    return pd.DataFrame(rows, columns=["unit_code", "name", "tier", "parent_code"])


def accounts(units: pd.DataFrame) -> pd.DataFrame:
    """Each unit's handlers and its head (an approver): ``username, unit_code, tier, roles``."""
    rows = []
    for u in units.itertuples():
        n = 6 if u.tier == "分局" else 4 if u.tier == "派出所" else 2
        rows += [(f"ba{u.unit_code[:10]}{k}", u.unit_code, u.tier, "officer") for k in range(n)]
        rows.append((f"ld{u.unit_code[:10]}", u.unit_code, u.tier, "officer,approver"))
    return pd.DataFrame(rows, columns=["username", "unit_code", "tier", "roles"])


@dataclass
class Year:
    cases: pd.DataFrame
    events: pd.DataFrame  # one row per step or document, in the order the system logged them
    seizures: pd.DataFrame
    custody: pd.DataFrame
    accounts: pd.DataFrame
    truth: dict = field(default_factory=dict)
    horizon: datetime | None = None

    def write(self, out: Path) -> None:
        (out / "truth").mkdir(parents=True, exist_ok=True)
        for name in ("cases", "events", "seizures", "custody", "accounts"):
            getattr(self, name).to_parquet(out / f"{name}.parquet", index=False)
        meta = {"horizon": self.horizon.isoformat(), "cases": len(self.cases), "events": len(self.events)}
        (out / "manifest.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        (out / "truth" / "procedure.json").write_text(json.dumps(self.truth, ensure_ascii=False, indent=1), encoding="utf-8")


class _Case:
    """One case's log as it is built: events with their times, sorted when done."""

    def __init__(self, year: _Builder, cid: str, kind: str, unit: str, handler: str):
        self.y, self.cid, self.kind, self.unit, self.handler = year, cid, kind, unit, handler
        self.events: list[dict] = []

    def step(self, action: str, at: datetime, person: str = "", approver: tuple | None = None, decision: str = "",
             condition: str = "", docs: tuple[str, ...] = (), lawful: bool = True) -> datetime:  # fmt: skip
        y = self.y
        if lawful and action in CLOSING and approver is not None and y.chance("unapproved"):
            approver = None if self.kind == "administrative" or y.rng.random() < 0.5 else y.head(y.stations[0])
            y.truth["unapproved_closures"].append({"case_id": self.cid, "action": action})
        user, tier, roles = approver or ("", "", "")
        self.events.append({"type": "step", "name": action, "at": at, "actor": self.handler, "person": person, "approver": user,
                            "approver_tier": tier, "approver_roles": roles, "decision_ref": decision, "condition": condition})  # fmt: skip
        for doc in docs:
            if y.chance("missing_doc"):
                y.truth["missing_documents"].append({"case_id": self.cid, "document": doc, "person": person})
                continue
            self.document(doc, at + timedelta(minutes=float(y.rng.uniform(5, 55))), person)
        return at

    def document(self, kind: str, at: datetime, person: str = "") -> None:
        self.events.append({"type": "document", "name": kind, "at": at, "actor": self.handler, "person": person, "approver": "",
                            "approver_tier": "", "approver_roles": "", "decision_ref": "", "condition": ""})  # fmt: skip


class _Builder:
    def __init__(self, seed: int, year: int, units: pd.DataFrame, until: datetime | None = None):
        self.rng = np.random.default_rng(seed)
        self.start = datetime(year, 1, 1, tzinfo=UTC) - BJ
        self.horizon = datetime(year + 1, 1, 1, tzinfo=UTC) - BJ
        if until is not None:  # the year up to a moment (the demo's: now)
            self.start, self.horizon = until - timedelta(days=365), until
        self.units, self.acc = units, accounts(units)
        self.truth: dict[str, list] = {k: [] for k in ("illegal", "deadline_breaches", "held_past_limit", "missing_documents",
                                                       "unapproved_closures", "custody_gaps")}  # fmt: skip
        self.parent = dict(zip(units.unit_code, units.parent_code, strict=True))
        self.tier = dict(zip(units.unit_code, units.tier, strict=True))
        self.handlers = {u: g.username.tolist() for u, g in self.acc[self.acc.roles == "officer"].groupby("unit_code")}
        self.stations = units[units.tier == "派出所"].unit_code.tolist()
        self.planting = True
        self.seizures: list[dict] = []
        self.custody: list[dict] = []

    def u(self, lo: float, hi: float, unit: timedelta = H) -> timedelta:
        return unit * float(self.rng.uniform(lo, hi))

    def head(self, unit: str) -> tuple:
        return (f"ld{unit[:10]}", self.tier[unit], "officer,approver")

    def station_head(self, unit: str) -> tuple:
        """The head of the unit handling the case (办案部门负责人)."""
        return self.head(unit)

    def county_head(self, unit: str) -> tuple:
        return self.head(unit if self.tier[unit] != "派出所" else self.parent[unit])

    def chance(self, what: str) -> bool:
        """Plant a fault of this kind here? Only in cases whose whole log ends before the horizon."""
        return self.planting and bool(self.rng.random() < RATES[what])


def _criminal(y: _Builder, c: _Case, t0: datetime) -> None:
    county, station = y.county_head(c.unit), y.station_head(c.unit)
    c.step("受案", t0, docs=("受案登记表",))
    if y.chance("illegal"):
        c.step("移送审查起诉", t0, approver=county, lawful=False)
        y.truth["illegal"].append({"case_id": c.cid, "at": t0.isoformat(), "name": "移送审查起诉", "rule": "transition"})
    if y.rng.random() < 0.08:
        c.step("不予立案", t0 + y.u(4, 60), approver=county, docs=("不予立案通知书",))
        return
    if y.chance("late_filing"):
        tf = t0 + y.u(18, 25, D)  # far past 3 days, whatever the holidays
        y.truth["deadline_breaches"].append({"case_id": c.cid, "limit": "立案审查", "person": ""})
    elif y.rng.random() < 0.05:
        c.step("延长立案审查", t0 + y.u(24, 60), approver=station, condition="涉嫌犯罪线索需要查证")
        tf = t0 + y.u(80, 140)
    else:
        tf = t0 + y.u(2, 60)
    if y.chance("illegal"):
        own = (c.handler, "分局", "officer,approver")
        c.step("立案", tf, approver=own, lawful=False)
        y.truth["illegal"].append({"case_id": c.cid, "at": tf.isoformat(), "name": "立案", "rule": "separation_of_duties"})
    c.step("立案", tf, approver=county, docs=("立案决定书",))
    if y.chance("illegal"):
        c.document("起诉意见书", tf)
        y.truth["illegal"].append({"case_id": c.cid, "at": tf.isoformat(), "name": "起诉意见书", "rule": "document_state"})
    if y.chance("illegal"):
        c.step("传唤", tf - y.u(1, 30), person=f"{c.cid}-X", approver=station, lawful=False)
        y.truth["illegal"].append({"case_id": c.cid, "at": None, "name": "传唤", "rule": "backdating"})
    ends, arrests, open_end = [tf], [], False
    for j in range(1 + int(y.rng.random() < 0.4) + int(y.rng.random() < 0.1)):
        end, arrest, forgotten = _suspect(y, c, f"{c.cid}-S{j + 1}", tf + y.u(1, 72), county, station, not arrests)
        ends.append(end)
        arrests += [arrest] if arrest else []
        if forgotten:  # left in custody: the case stops here
            open_end = True
            break
    _seize(y, c, tf)
    if open_end:
        return
    end = max(ends) + y.u(1, 5, D)
    c.step("侦查终结", end, approver=county)
    if arrests or y.rng.random() < 0.85:
        c.step("移送审查起诉", end + y.u(1, 48), approver=county, docs=("起诉意见书",))
    else:
        c.step("撤案", end + y.u(1, 48), approver=county, docs=("撤销案件决定书",))


def _suspect(y: _Builder, c: _Case, p: str, ts: datetime, county: tuple, station: tuple,
             may_forget: bool) -> tuple[datetime, datetime | None, bool]:  # fmt: skip
    """One suspect's measures; returns (last event, arrest time or None, left in custody). A
    suspect is left in custody (the case stopping there) only where no one has been arrested:
    an arrest's own limit would lapse unplanted."""
    r = y.rng.random()
    if r < 0.30:
        c.step("传唤", ts, p, station, docs=("传唤证",))
        if y.chance("held_late"):
            y.truth["held_past_limit"].append({"case_id": c.cid, "limit": "传唤", "person": p})
            return c.step("传唤结束", ts + y.u(13, 20), p), None, False
        if y.rng.random() < 0.05:
            c.step("延长传唤", ts + y.u(6, 11), p, station, condition="案情特别重大复杂需要采取拘留逮捕措施")
            return c.step("传唤结束", ts + y.u(13, 23), p), None, False
        return c.step("传唤结束", ts + y.u(1, 11), p), None, False
    if r < 0.65:
        c.step("传唤", ts, p, station, docs=("传唤证",))
        return _detained(y, c, p, ts + y.u(2, 10), county, may_forget)
    if r < 0.85:
        c.step("取保候审", ts, p, county, docs=("取保候审决定书",))
        return c.step("解除取保候审", ts + y.u(20, 45, D), p, county), None, False
    if r < 0.95:
        c.step("监视居住", ts, p, county, docs=("监视居住决定书",))
        return c.step("解除监视居住", ts + y.u(20, 45, D), p, county), None, False
    return ts, None, False


def _detained(y: _Builder, c: _Case, p: str, tj: datetime, county: tuple, may_forget: bool) -> tuple[datetime, datetime | None, bool]:
    c.step("拘留", tj, p, county, docs=("拘留证",))
    if y.chance("illegal"):
        c.step("延长拘留", tj, p, county, lawful=False)
        y.truth["illegal"].append({"case_id": c.cid, "at": tj.isoformat(), "name": "延长拘留", "rule": "extension_condition"})
    if may_forget and y.chance("forgotten"):
        y.truth["held_past_limit"].append({"case_id": c.cid, "limit": "拘留后提请批捕", "person": p})
        return tj, None, True
    r = y.rng.random()
    if y.chance("held_late"):
        tq = tj + y.u(4.5, 6.5, D)
        y.truth["held_past_limit"].append({"case_id": c.cid, "limit": "拘留后提请批捕", "person": p})
    elif r < 0.15:
        c.step("延长拘留", tj + y.u(24, 60), p, county, condition="特殊情况", docs=("变更羁押期限通知书",))
        tq = tj + y.u(80, 150)
    elif r < 0.25:
        c.step("延长拘留", tj + y.u(24, 60), p, county, condition="结伙作案", docs=("变更羁押期限通知书",))
        tq = tj + y.u(8, 25, D)
    elif r < 0.45:
        c.step("取保候审", tj + y.u(10, 60), p, county, docs=("取保候审决定书",))
        return c.step("解除取保候审", tj + y.u(20, 45, D), p, county), None, False
    else:
        tq = tj + y.u(10, 60)
    c.step("提请批准逮捕", tq, p, county, docs=("提请批准逮捕书",))
    late = y.chance("late_decision")
    if late:
        y.truth["held_past_limit"].append({"case_id": c.cid, "limit": "检察院审查批捕", "person": p})
    td = tq + (y.u(8, 10, D) if late else y.u(24, 156))
    if y.rng.random() < 0.85:
        return c.step("批准逮捕", td, p, decision=f"检批捕〔{td.year}〕{y.rng.integers(1, 9999)}号", docs=("逮捕证",)), td, False
    c.step("不批准逮捕", td, p, decision=f"检不捕〔{td.year}〕{y.rng.integers(1, 9999)}号", docs=("释放证明书",))
    return td, None, False


def _seize(y: _Builder, c: _Case, tf: datetime) -> None:
    if y.rng.random() >= 0.3:
        return
    for k in range(int(y.rng.integers(1, 4))):
        at = tf + y.u(1, 72)
        if at + 2 * D > y.horizon:
            return
        item = f"{c.cid}-W{k + 1}"
        y.seizures.append({"case_id": c.cid, "item_id": item, "person": f"{c.cid}-S1", "at": at, "by": c.handler,
                           "description": str(y.rng.choice(ITEMS))})  # fmt: skip
        if y.chance("gap"):
            y.truth["custody_gaps"].append({"case_id": c.cid, "item_id": item})
            continue
        place = f"{c.unit[:6]}涉案财物管理中心"
        y.custody.append({"item_id": item, "case_id": c.cid, "at": at + y.u(1, 20), "action": "入库", "holder": f"bg{c.unit[:6]}",
                          "location": place})  # fmt: skip


def _administrative(y: _Builder, c: _Case, t0: datetime) -> None:
    station = y.station_head(c.unit)
    c.step("受案", t0, docs=("受案登记表",))
    t = c.step("调查", t0 + y.u(2, 24))
    late = y.chance("late_admin")
    decide = t0 + (y.u(45, 58, D) if late else y.u(8, 25, D))
    if late:
        y.truth["deadline_breaches"].append({"case_id": c.cid, "limit": "办案期限", "person": ""})
    elif y.rng.random() < 0.04:
        c.step("延长办案期限", t + y.u(2, 20), approver=y.county_head(c.unit), condition="案情重大复杂", docs=("延长办案期限审批表",))
        decide = t0 + y.u(35, 55, D)
    for j in range(1 + int(y.rng.random() < 0.3)):
        p, ts = f"{c.cid}-S{j + 1}", t + y.u(24 + 30 * j, 48 + 30 * j)
        c.step("传唤", ts, p, station, docs=("传唤证",))
        if y.chance("held_late"):
            y.truth["held_past_limit"].append({"case_id": c.cid, "limit": "询问查证", "person": p})
            c.step("传唤结束", ts + y.u(9, 15), p)
        elif y.rng.random() < 0.05:
            c.step("延长传唤", ts + y.u(3, 7), p, station, condition="情况复杂且可能适用行政拘留")
            c.step("传唤结束", ts + y.u(9, 23), p)
        else:
            c.step("传唤结束", ts + y.u(1, 7.5), p)
    c.step("告知", decide - y.u(3, 48), docs=("行政处罚告知笔录",))
    if y.rng.random() < 0.1:
        c.step("不予处罚", decide, approver=station, docs=("不予行政处罚决定书",))
        return
    c.step("处罚决定", decide, approver=station, docs=("行政处罚决定书",))
    t = c.step("执行", decide + y.u(2, 48))
    c.step("结案", t + y.u(1, 10, D), approver=station)


def year_of_cases(n: int, seed: int = 23, year: int = 2026, units: pd.DataFrame | None = None,
                  workspace_refs: list[str] | None = None, until: datetime | None = None) -> Year:  # fmt: skip
    """``n`` cases accepted over ``year`` (Beijing time), their logs cut at the year's end — or
    over the 365 days before ``until``, cut there."""
    units = default_units() if units is None else units
    y = _Builder(seed, year, units, until)
    stations = units[units.tier == "派出所"].unit_code.tolist()
    branches = units[units.tier == "分局"].unit_code.tolist()
    cases, events = [], []
    refs = list(workspace_refs or [])
    span = (y.horizon - y.start).total_seconds()
    starts = sorted(y.start + timedelta(seconds=float(s)) for s in y.rng.uniform(0, span - 3600, n))
    counters: dict[tuple[str, str], int] = {}
    for t0 in starts:
        y.planting = t0 < y.horizon - 120 * D  # a planted case's whole log lies inside the year
        criminal = y.rng.random() < 0.45
        unit = str(y.rng.choice(branches if criminal and y.rng.random() < 0.5 else stations))
        prefix = "AJ" if criminal else "XZ"
        counters[(prefix, unit)] = counters.get((prefix, unit), 0) + 1
        cid = f"{prefix}{unit[:6]}{year}{counters[(prefix, unit)]:05d}{unit[6:8]}"
        c = _Case(y, cid, "criminal" if criminal else "administrative", unit, str(y.rng.choice(y.handlers[unit])))
        category, summary = (CRIMINAL if criminal else ADMIN)[int(y.rng.integers(0, 4))]
        planted = len(y.truth["illegal"])
        (_criminal if criminal else _administrative)(y, c, t0)
        kept = sorted((e for e in c.events if e["at"] < y.horizon), key=lambda e: e["at"])
        mine = y.truth["illegal"][planted:]
        if any(t["rule"] == "backdating" for t in mine):
            kept = _backdate(kept)
        y.truth["illegal"][planted:] = [_locate(t, kept) for t in mine]
        events += [{"case_id": cid, "n": i, **e} for i, e in enumerate(kept)]
        cases.append({"id": cid, "kind": c.kind, "title": f"{category}案", "category": category, "unit_code": unit,
                      "handler": c.handler, "summary": summary,
                      "workspace_ref": refs.pop(0) if criminal and refs else None})  # fmt: skip
    ev = pd.DataFrame(events)
    ev["at"] = pd.to_datetime(ev["at"], utc=True)
    seizures = pd.DataFrame(y.seizures, columns=["case_id", "item_id", "person", "at", "by", "description"])
    custody = pd.DataFrame(y.custody, columns=["item_id", "case_id", "at", "action", "holder", "location"])
    for frame in (seizures, custody):
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return Year(pd.DataFrame(cases), ev, seizures, custody, y.acc, y.truth, y.horizon)


def _backdate(kept: list[dict]) -> list[dict]:
    """Move the planted back-dated 传唤 (person ``…-X``) to right after the step after which it is dated."""
    bad = next(e for e in kept if e["person"].endswith("-X"))
    rest = [e for e in kept if e is not bad]
    after = max(i for i, e in enumerate(rest) if e["name"] == "立案" and e["type"] == "step")
    return [*rest[: after + 1], bad, *rest[after + 1 :]]


def _locate(t: dict, kept: list[dict]) -> dict:
    """A planted unlawful event as (case, index in the case's log): the first of its name that is it."""
    def it(e: dict) -> bool:
        return {"backdating": e["person"].endswith("-X"), "separation_of_duties": e["approver"] == e["actor"],
                "extension_condition": e["type"] == "step" and not e["condition"]}.get(t["rule"], True)  # fmt: skip

    n = next(i for i, e in enumerate(kept) if e["name"] == t["name"] and it(e))
    return {"case_id": t["case_id"], "n": n, "rule": t["rule"]}
