"""A synthetic audit history: normal police work plus planted misuse, with its truth.

Used by tests and benchmarks to prove the oversight rules fire on misuse and stay quiet
on normal work (precision / recall per rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from zhijing.access.audit import AuditEvent


@dataclass
class History:
    events: list[AuditEvent]
    subjects: dict[str, set[str]]  # purpose -> persons it names
    household: dict[str, str]  # person -> household
    home: dict[str, str]  # officer -> household
    truth: set[tuple[str, str | None, str | None]]  # (rule, actor, subject) planted
    roles: dict[str, set[str]] = field(default_factory=dict)  # user -> roles
    assigned: dict[str, set[str]] = field(default_factory=dict)  # purpose -> users assigned to it
    topics: dict[str, str] = field(default_factory=dict)  # purpose -> what it is about (a case's matter)


def build(seed: int = 1, officers: int = 40, days: int = 20) -> History:
    rng = np.random.default_rng(seed)
    persons = [f"M{i:06d}" for i in range(5000)]
    household = {p: f"H{i // 3:05d}" for i, p in enumerate(persons)}
    units = [f"U{k}" for k in range(8)]
    subjects, events, truth = {}, [], set()
    home = {}
    start = pd.Timestamp("2026-03-02 00:00", tz="Asia/Shanghai")
    for o in range(officers):
        actor, unit = f"officer{o:02d}", units[o % len(units)]
        home[actor] = f"HOFF{o:03d}"
        for c in range(3):
            case = f"case:A{o:02d}{c}"
            subjects[case] = set(rng.choice(persons, 12, replace=False))
        for d in range(days):
            if pd.Timestamp(start + pd.Timedelta(days=d)).weekday() >= 5:
                continue
            for _ in range(int(rng.integers(3, 12))):
                case = f"case:A{o:02d}{int(rng.integers(0, 3))}"
                t = start + pd.Timedelta(days=d, hours=float(rng.uniform(8.5, 18)))
                rec = str(rng.choice(sorted(subjects[case])))
                events.append(_ev(actor, unit, case, [rec], t))
    # planted misuse
    t0 = start + pd.Timedelta(days=3, hours=10)
    stray = [p for p in persons if not any(p in s for s in subjects.values())]
    for k in range(4):  # unrelated reads by officer01 under a real case
        events.append(_ev("officer01", units[1], "case:A010", [stray[k]], t0 + pd.Timedelta(minutes=k)))
        truth.add(("unrelated_read", "officer01", stray[k]))
    bulk = [stray[100 + k] for k in range(120)]  # bulk read by officer02
    case2 = "case:A020"
    subjects[case2] |= set(bulk)
    for k, p in enumerate(bulk):
        events.append(_ev("officer02", units[2], case2, [p], t0 + pd.Timedelta(seconds=20 * k)))
    truth.add(("bulk_read", "officer02", str(t0.floor("h"))))
    night = start + pd.Timedelta(days=5, hours=23)
    case3 = "case:A030"
    for k in range(25):  # night spike by officer03, within his own case subjects
        p = sorted(subjects[case3])[k % len(subjects[case3])]
        extra = stray[300 + k]
        subjects[case3].add(extra)
        events.append(_ev("officer03", units[3], case3, [extra if k % 2 else p], night + pd.Timedelta(minutes=4 * k)))
    truth.add(("after_hours", "officer03", str((night).date())))
    celeb = stray[500]  # one person looked up by many unrelated officers
    for o in range(10, 17):
        case = f"case:A{o:02d}0"
        subjects[case].add(celeb)
        events.append(_ev(f"officer{o:02d}", units[o % len(units)], case, [celeb], t0 + pd.Timedelta(hours=o - 9)))
    truth.add(("many_officers", None, celeb))
    relative = stray[600]  # officer04 reads a member of his own household
    home["officer04"] = household[relative]
    subjects["case:A040"].add(relative)
    events.append(_ev("officer04", units[4], "case:A040", [relative], t0))
    truth.add(("relatives", "officer04", relative))
    events.sort(key=lambda e: e.time)
    return History(events, subjects, household, home, truth)


def build_duties(seed: int = 1, officers: int = 12, days: int = 10) -> History:
    """Casework with exports (some approved by a second officer) and a few refusals, plus
    planted misuse of exports, supervision, administration, probing and a warning opened
    under a case of another kind."""
    rng = np.random.default_rng(seed)
    persons = [f"M{i:06d}" for i in range(3000)]
    h = History([], {}, {}, {}, set(), {}, {})
    start = pd.Timestamp("2026-03-02 00:00", tz="Asia/Shanghai")
    workdays = [start + pd.Timedelta(days=d) for d in range(days) if (start + pd.Timedelta(days=d)).weekday() < 5]
    for o in range(officers):
        actor, unit = f"officer{o:02d}", f"U{o % 4}"
        h.roles[actor] = {"officer"}
        for c in range(2):
            h.subjects[f"case:B{o:02d}{c}"] = set(rng.choice(persons, 10, replace=False))
            h.assigned[f"case:B{o:02d}{c}"] = {actor}
        for day in workdays:
            case = f"case:B{o:02d}{int(rng.integers(0, 2))}"
            named = sorted(h.subjects[case])
            at = lambda day=day: day + pd.Timedelta(hours=float(rng.uniform(8.5, 18)))  # noqa: E731
            for _ in range(int(rng.integers(3, 9))):
                h.events.append(_ev(actor, unit, case, [str(rng.choice(named))], at()))
            if rng.random() < 0.4:  # an export, now and then approved by a colleague
                approval = f"approved by officer{(o + 1) % officers:02d}" if rng.random() < 0.5 else "approval not required"
                h.events.append(_export(actor, unit, case, str(rng.choice(named)), f"R{o}{day:%d}", approval, at()))
            for _ in range(int(rng.integers(0, 3))):  # a wrong purpose chosen, a person outside the station
                h.events.append(_ev(actor, unit, case, [], at(), outcome="refused"))
    day = workdays[2] + pd.Timedelta(hours=10)
    bulk = sorted(h.subjects["case:B010"])[:8] + sorted(h.subjects["case:B011"])[:7]
    for k, p in enumerate(bulk):  # officer01 exports fifteen files in one morning
        h.events.append(_export("officer01", "U1", "case:B010" if k < 8 else "case:B011", p, f"RB{k}", "approval not required",
                                day + pd.Timedelta(minutes=5 * k)))  # fmt: skip
    h.truth.add(("bulk_export", "officer01", str(day.date())))
    target = sorted(h.subjects["case:B020"])[0]
    h.events.append(_export("officer02", "U2", "case:B020", target, "RQ-NONE", "approval required", day))
    h.truth.add(("unapproved_export", "officer02", "RQ-NONE"))
    target = sorted(h.subjects["case:B030"])[0]
    h.events.append(_export("officer03", "U3", "case:B030", target, "RQ-SELF", "approved by officer03", day))
    h.truth.add(("unapproved_export", "officer03", "RQ-SELF"))
    h.roles["chief01"] = {"officer", "approver"}  # a branch chief reads into a case he only supervises
    for p in sorted(h.subjects["case:B040"])[:3]:
        h.events.append(_ev("chief01", "U0", "case:B040", [p], day + pd.Timedelta(hours=1)))
    h.truth.add(("supervisor_read", "chief01", "case:B040"))
    h.roles["admin01"] = {"admin"}  # an administrator assigned to a case reads a person: lawful, but watched
    h.subjects["case:ADM"], h.assigned["case:ADM"] = {persons[-1]}, {"admin01"}
    h.events.append(_ev("admin01", "U0", "case:ADM", [persons[-1]], day))
    h.truth.add(("admin_read", "admin01", persons[-1]))
    probe = workdays[3] + pd.Timedelta(hours=14)
    for k in range(12):  # officer05 probes persons outside his need to know
        h.events.append(_ev("officer05", "U1", "case:B050", [], probe + pd.Timedelta(minutes=k), outcome="refused"))
    h.truth.add(("many_refusals", "officer05", str(probe.date())))
    h.topics.update({"case:B070": "burglary", "case:B080": "fraud"})  # a fraud-mule warning opens under a fraud case
    for actor, case in (("officer07", "case:B070"), ("officer08", "case:B080")):
        h.events.append(_ev(actor, "U3", case, [sorted(h.subjects[case])[0]], probe, query="risk warning 7 topic fraud"))
    h.truth.add(("off_topic", "officer07", "case:B070"))
    h.events.sort(key=lambda e: e.time)
    return h


def _export(actor, unit, purpose, record, request, approval, t) -> AuditEvent:
    return _ev(actor, unit, purpose, [record], t, "disclose", f"person file export E{request} request {request} {approval}")


def _ev(actor, unit, purpose, records, t, operation="consult", query="/api/persons", outcome="allowed") -> AuditEvent:
    return AuditEvent(actor=actor, unit=unit, operation=operation, outcome=outcome, purpose=purpose, records=list(records),
                      query=query, time=t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ"))  # fmt: skip
