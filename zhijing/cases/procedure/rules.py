"""The procedure's rules, read from the one file ``rules.yaml`` and checked for consistency
once (every state, approver, document and limit a rule names exists), so that a typo in the
rules fails at load, not in the middle of a case."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, PrivateAttr, model_validator

RULES_FILE = Path(__file__).with_name("rules.yaml")
Kind = Literal["criminal", "administrative"]


class Approver(BaseModel):
    roles: list[str] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list)
    external: bool = False


class Document(BaseModel):
    code: str
    template: str
    states: list[str]
    measure: bool = False
    articles: list[str] = Field(default_factory=list)


class Extension(BaseModel):
    condition: str
    hours: int | None = None
    days: int | None = None
    months: int | None = None
    approver: str


class Limit(BaseModel):
    case: Kind
    hours: int | None = None
    days: int | None = None
    months: int | None = None
    custodial: bool
    starts: str
    stops: list[str]
    warn_hours: int
    extensions: list[Extension] = Field(default_factory=list)
    articles: list[str] = Field(default_factory=list)


class Action(BaseModel):
    model_config = {"populate_by_name": True}
    from_: list[str] = Field(alias="from")
    to: str
    approver: str | None = None
    documents: list[str] = Field(default_factory=list)
    extends: str | None = None
    articles: list[str] = Field(default_factory=list)


class Measures(BaseModel):
    model_config = {"populate_by_name": True}
    while_: list[str] = Field(alias="while")
    states: dict[str, str]
    initial: str
    custodial: list[str]
    actions: dict[str, Action]


class Machine(BaseModel):
    label: str
    states: dict[str, str]
    final: list[str]
    case: dict[str, Action]
    measures: Measures


class Supervision(BaseModel):
    document_grace_hours: int
    to: dict[str, str]


class Rules(BaseModel):
    version: int
    sources: dict[str, str]
    calendar: dict
    backdating: dict[str, int]
    supervision: Supervision
    approvers: dict[str, Approver]
    documents: dict[str, Document]
    limits: dict[str, Limit]
    machines: dict[Kind, Machine]
    _starts: dict[tuple[str, str], list[str]] = PrivateAttr(default_factory=dict)
    _stops: dict[tuple[str, str], list[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Rules:
        problems = []
        for kind, m in self.machines.items():
            acts = [("case", m.states, m.case), ("measure", m.measures.states, m.measures.actions)]
            for scope, states, actions in acts:
                for name, a in actions.items():
                    where = f"{kind}.{scope}.{name}"
                    problems += [f"{where}: no state {s}" for s in [*a.from_, a.to] if s not in states and s != "same"]
                    problems += [f"{where}: no approver {a.approver}" for _ in [1] if a.approver and a.approver not in self.approvers]
                    problems += [f"{where}: no document {d}" for d in a.documents if d not in self.documents]
                    problems += [f"{where}: no limit {a.extends}" for _ in [1] if a.extends and a.extends not in self.limits]
            problems += [f"{kind}: measures while {s}?" for s in m.measures.while_ if s not in m.states]
        for name, lim in self.limits.items():
            m = self.machines[lim.case]
            known = {*m.case, *m.measures.actions}
            problems += [f"limit {name}: no action {a}" for a in [lim.starts, *lim.stops] if a not in known]
            problems += [f"limit {name}: extension approver {e.approver}?" for e in lim.extensions if e.approver not in self.approvers]
        if problems:
            raise ValueError("rules.yaml is inconsistent: " + "; ".join(problems))
        for name, lim in self.limits.items():  # indexes the machine asks on every step
            self._starts.setdefault((lim.case, lim.starts), []).append(name)
            for action in lim.stops:
                self._stops.setdefault((lim.case, action), []).append(name)
        return self

    def action(self, kind: str, name: str, measure: bool) -> Action | None:
        m = self.machines[kind]
        return (m.measures.actions if measure else m.case).get(name)

    def is_measure(self, kind: str, name: str) -> bool:
        return name in self.machines[kind].measures.actions

    def limits_started(self, kind: str, action: str) -> list[str]:
        return self._starts.get((kind, action), [])

    def limits_stopped(self, kind: str, action: str) -> list[str]:
        return self._stops.get((kind, action), [])

    def cite(self, articles: list[str]) -> str:
        """Articles as a refusal names them: ``CPL 91（中华人民共和国刑事诉讼法…）``."""
        return "、".join(articles) or "rules.yaml"


@lru_cache(maxsize=4)
def load(path: Path = RULES_FILE) -> Rules:
    return Rules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
