"""Replay a department's case log (补录 of another system's year) through the state machine:
every step and document is checked as a live one would be, except that an approval missing
or of the wrong rank is kept and marked (it happened; supervision flags it). What the rules
forbid is refused with its rule and left out; the rest is written to the store in bulk, with
one audit event naming the import."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from zhijing.cases.procedure import deadlines, documents, machine, store
from zhijing.cases.procedure.machine import Account, Case, Refused, Step
from zhijing.cases.procedure.rules import Rules, load
from zhijing.config import Settings

TABLES = ("cases", "events", "seizures", "custody", "accounts")


@dataclass
class Replayed:
    cases: int = 0
    accepted: int = 0
    refused: list[dict] = field(default_factory=list)  # case_id, n, rule, message
    seconds: float = 0.0
    rows: dict[str, list[dict]] = field(default_factory=dict)


def read(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def _account(r: dict) -> Account | None:
    return Account(r["approver"], r["approver_tier"], tuple(r["approver_roles"].split(","))) if r["approver"] else None


class _Numbers:
    """Document numbers per year, unit and code, continued by later live documents."""

    def __init__(self, taken: dict[tuple[int, str, str], int] | None = None):
        self.n: dict[tuple[int, str, str], int] = dict(taken or {})  # numbers the store has given already

    def take(self, year: int, unit: str, code: str) -> str:
        key = (year, unit, code)
        self.n[key] = self.n.get(key, 0) + 1
        return documents.number(unit, code, year, self.n[key])

    def rows(self) -> list[dict]:
        return [{"year": y, "unit_code": u, "code": c, "n": n} for (y, u, c), n in self.n.items()]


def _case(rules: Rules, info, events: list[dict], out: Replayed, numbers: _Numbers, zone) -> None:
    view = Case(info.kind, info.handler)
    rows = out.rows
    versions: dict[tuple[str, str], tuple[str, int]] = {}
    opened = None
    for r in events:
        at, name, person = r["at"], r["name"], r["person"]
        try:
            if r["type"] == "document":
                state = machine.check_document(rules, view, name, person)
                spec = rules.documents[name]
                num, v = versions.get((name, person), (None, 0))
                num = num or numbers.take(at.astimezone(zone).year, info.unit_code, spec.code)
                versions[(name, person)] = (num, v + 1)
                rows["proc_documents"].append({"case_id": info.id, "kind": name, "number": num, "version": v + 1,
                                               "person": person or None, "state": state, "issued_at": at, "issued_by": r["actor"],
                                               "signer": None, "public_key": None, "signature": None, "sha256": None, "body": None,
                                               "source": "import"})  # fmt: skip
            else:
                step = Step(name, at, r["actor"], person, _account(r), r["decision_ref"], r["condition"])
                before = Case(view.kind, view.handler, view.state, view.last_at, dict(view.measures))
                result = machine.check(rules, view, step, live=False)
                machine.apply(view, step, result)
                rows["proc_steps"].append(store.step_row(info.id, step, result, before, "补录", "import"))
                opened = opened or at
            out.accepted += 1
        except Refused as e:
            out.refused.append({"case_id": info.id, "n": int(r["n"]), "rule": e.rule, "message": str(e)})
    if opened is None:
        return
    final = view.state in rules.machines[view.kind].final
    rows["proc_cases"].append({"id": info.id, "kind": info.kind, "title": info.title, "category": info.category,
                               "unit_code": info.unit_code, "handler": info.handler, "state": view.state, "opened_at": opened,
                               "last_at": view.last_at, "closed_at": view.last_at if final else None,
                               "facts": json.dumps({"summary": info.summary}, ensure_ascii=False), "workspace_ref": info.workspace_ref or None,
                               "source": "import", "version": 1})  # fmt: skip
    rows["proc_measures"] += [{"case_id": info.id, "person": p, "state": s, "updated_at": view.last_at} for p, s in view.measures.items()]
    rows["proc_limits"] += store.limit_rows(info.id, view, {n: lim.custodial for n, lim in rules.limits.items()}, view.limits)
    out.cases += 1


def replay(settings: Settings | None, tables: dict[str, pd.DataFrame], *, audit: Callable[[str, list[str], str], None] | None = None,
           write: bool = True) -> Replayed:  # fmt: skip
    """Check every event of the log; write what is lawful (unless ``write`` is False)."""
    rules, zone = load(), deadlines.zone()
    stored, taken = store.stored_ids(settings) if write and settings is not None else (set(), {})
    numbers = _Numbers(taken)
    out = Replayed(rows={t: [] for t in ("proc_cases", "proc_steps", "proc_measures", "proc_limits", "proc_documents")})
    t0 = time.perf_counter()
    events = tables["events"].sort_values(["case_id", "n"])
    text = ["person", "approver", "approver_tier", "approver_roles", "decision_ref", "condition"]
    events[text] = events[text].fillna("")
    at = events["at"].map(pd.Timestamp.to_pydatetime)
    by_case: dict[str, list[dict]] = defaultdict(list)
    for r, t in zip(events.to_dict("records"), at, strict=True):
        r["at"] = t
        by_case[r["case_id"]].append(r)
    for info in tables["cases"].itertuples(index=False):
        if info.id in by_case and info.id not in stored:  # a case replayed before is left as it is
            _case(rules, info, by_case[info.id], out, numbers, zone)
    if write and settings is not None:
        store.bulk_insert(settings, {**out.rows, "proc_counters": numbers.rows()})
        if audit:
            audit("collect", [], f"procedure replay {out.cases} cases, {out.accepted} events, {len(out.refused)} refused")
    out.seconds = time.perf_counter() - t0
    return out


def fresh_property(out: Replayed, seizures: pd.DataFrame, custody: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seized property of the cases this replay stored (a case replayed before keeps what it had)."""
    fresh = {r["id"] for r in out.rows.get("proc_cases", [])}
    return seizures[seizures.case_id.isin(fresh)], custody[custody.case_id.isin(fresh)]
