"""The state machine: a step on a case is checked against ``rules.yaml`` and either gives its
outcome (the case's or the person's next state, the limits it starts, stops or extends) or is
refused with the rule it breaks. Pure: the store (live steps) and the replay (a year of a
department's cases) keep the case as a ``Case`` and call ``check`` then ``apply``.

Refused always: an action the case kind lacks, a transition from the wrong state, a measure
while the case is not under investigation, a back-dated step, an approval by the case's own
handler (separation of duties), an extension without one of its stated conditions. An
approval that is missing or of the wrong rank is refused for a live step; a step imported from
another system (补录) happened already, so it is kept with ``approval_ok = False`` and flagged
by supervision — the platform cannot undo what was done elsewhere, it can make it seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from zhijing.cases.procedure import deadlines
from zhijing.cases.procedure.rules import Action, Rules
from zhijing.errors import ZhijingError


class Refused(ZhijingError):
    """A step the rules do not allow; ``rule`` names the rule (and its articles)."""

    def __init__(self, rule: str, message: str):
        super().__init__(f"{rule}: {message}")
        self.rule = rule


@dataclass(frozen=True)
class Account:
    """Who acts or approves, as the rules see an account: its roles and its unit's tier."""

    username: str
    tier: str = ""
    roles: tuple[str, ...] = ()
    department: str = ""


@dataclass
class Running:
    """A time limit of the case (``person`` empty) or of one person's measure."""

    name: str
    person: str
    started_at: datetime
    due_at: datetime
    stopped_at: datetime | None = None
    extended_by: str | None = None  # the condition stated


@dataclass
class Case:
    kind: str
    handler: str
    state: str | None = None  # None before 受案
    last_at: datetime | None = None
    measures: dict[str, str] = field(default_factory=dict)  # person → measure state
    limits: dict[tuple[str, str], Running] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    action: str
    at: datetime
    actor: str
    person: str = ""
    approver: Account | None = None
    decision_ref: str = ""  # an outside body's decision (the procuratorate's number)
    condition: str = ""
    recorded_at: datetime | None = None  # when it was entered (live: now)


@dataclass(frozen=True)
class Outcome:
    to: str | None  # the case's next state (None: unchanged)
    measure_to: str | None  # the person's next measure state
    starts: tuple[Running, ...]
    stops: tuple[tuple[str, str], ...]  # (limit, person) keys stopped at the step's time
    extends: tuple[tuple[str, str], str, datetime] | None  # key, condition, new due
    approval_ok: bool
    approval_note: str
    documents: tuple[str, ...]


def _approves(rules: Rules, cls: str, who: Account | None, decision_ref: str) -> str:
    """Why the approval does not satisfy ``cls`` ('' when it does)."""
    spec = rules.approvers[cls]
    if spec.external:
        return "" if decision_ref.strip() else f"needs the decision of {cls} (its document number)"
    if who is None:
        return f"needs the approval of {cls}"
    if spec.roles and not set(spec.roles) & set(who.roles):
        return f"{who.username} is no {cls} (roles)"
    if spec.tiers and who.tier not in spec.tiers:
        return f"{who.username} is no {cls} (unit tier {who.tier or '?'})"
    return ""


def _timing(rules: Rules, case: Case, step: Step, live: bool) -> None:
    at = step.at
    if at.tzinfo is None:
        raise Refused("time", "a step's time must be aware")
    if case.last_at is not None and at < case.last_at:
        raise Refused("backdating", f"{step.action} dated {at.isoformat()} is earlier than the case's last step {case.last_at.isoformat()}")
    if live:
        entered = step.recorded_at or datetime.now(UTC)
        grace = timedelta(minutes=rules.backdating["grace_minutes"])
        if entered - at > grace:
            raise Refused("backdating", f"{step.action} dated {(entered - at)} before it is entered (at most {grace}; 补录 goes through the import)")
        if at - entered > timedelta(minutes=rules.backdating["future_minutes"]):
            raise Refused("backdating", f"{step.action} is dated in the future")


def check(rules: Rules, case: Case, step: Step, *, live: bool = True) -> Outcome:
    """The outcome of ``step`` on ``case``, or ``Refused`` with the rule it breaks."""
    machine = rules.machines[case.kind]
    measure = rules.is_measure(case.kind, step.action)
    act: Action | None = rules.action(case.kind, step.action, measure)
    if act is None:
        raise Refused("action", f"{machine.label} has no action {step.action}")
    cite = rules.cite(act.articles)
    if case.state in machine.final:
        raise Refused("final", f"the case is {machine.states[case.state]}: no step follows ({cite})")
    if measure:
        if case.state not in machine.measures.while_:
            raise Refused("measure_state", f"{step.action} only while the case is {'/'.join(machine.measures.while_)}; it is {case.state} ({cite})")
        if not step.person:
            raise Refused("measure_person", f"{step.action} names the person it is taken against")
        current = case.measures.get(step.person, machine.measures.initial)
    else:
        current = case.state
    if (current or "") not in act.from_ and not (current is None and not act.from_):
        allowed = "/".join(act.from_) or "a new case"
        raise Refused("transition", f"{step.action} only from {allowed}; {'the person is' if measure else 'the case is'} {current or 'not yet accepted'} ({cite})")
    _timing(rules, case, step, live)
    if step.approver is not None and step.approver.username in (step.actor, case.handler):
        raise Refused("separation_of_duties", f"{step.approver.username} handles this case and cannot approve its {step.action}")
    extends, approver_cls = None, act.approver
    if act.extends:
        key = (act.extends, step.person if measure else "")
        run = case.limits.get(key)
        if run is None or run.stopped_at is not None:
            raise Refused("extension", f"{step.action}: no running {act.extends} to extend")
        ext = deadlines.extension_for(rules.limits[act.extends], step.condition)
        if ext is None:
            stated = "、".join(e.condition for e in rules.limits[act.extends].extensions)
            raise Refused("extension_condition", f"{step.action} states one of its conditions ({stated}) ({cite})")
        extends, approver_cls = (key, ext.condition, deadlines.due_of(rules.limits[act.extends], run.started_at, ext)), ext.approver
    note = _approves(rules, approver_cls, step.approver, step.decision_ref) if approver_cls else ""
    if note and live:
        raise Refused("approval", f"{step.action} {note} ({cite})")
    to = None if measure else (case.state if act.to == "same" else act.to)
    starts = tuple(Running(n, step.person if lim_measure else "", step.at, deadlines.due_of(rules.limits[n], step.at))
                   for n in rules.limits_started(case.kind, step.action)
                   for lim_measure in [rules.limits[n].starts in machine.measures.actions])  # fmt: skip
    stops = tuple(k for n in rules.limits_stopped(case.kind, step.action) for k, r in case.limits.items()
                  if k[0] == n and r.stopped_at is None and (not measure or k[1] == step.person))  # fmt: skip
    return Outcome(to, act.to if measure else None, starts, stops, extends, not note, note, tuple(act.documents))


def check_document(rules: Rules, case: Case, kind: str, person: str = "") -> str:
    """The state in which ``kind`` is issued now (the case's, or the person's measure), or ``Refused``."""
    spec = rules.documents.get(kind)
    if spec is None:
        raise Refused("document", f"no document {kind} in the rules")
    machine = rules.machines[case.kind]
    if spec.measure and not person:
        raise Refused("document_person", f"{kind} names the person it concerns")
    state = case.measures.get(person, machine.measures.initial) if spec.measure else case.state
    labels = machine.measures.states if spec.measure else machine.states
    if state not in spec.states:
        raise Refused("document_state", f"{kind} is issued when {'the person is' if spec.measure else 'the case is'} "
                                        f"{'/'.join(spec.states)}; now {labels.get(state or '', state)} ({rules.cite(spec.articles)})")  # fmt: skip
    return state or ""


def apply(case: Case, step: Step, out: Outcome) -> None:
    """Move ``case`` by a checked step."""
    if out.to is not None:
        case.state = out.to
    if out.measure_to is not None:
        case.measures[step.person] = out.measure_to
    for key in out.stops:
        case.limits[key].stopped_at = step.at
    for run in out.starts:
        case.limits[(run.name, run.person)] = run
    if out.extends:
        key, condition, new_due = out.extends
        case.limits[key].due_at, case.limits[key].extended_by = new_due, condition
    case.last_at = step.at
