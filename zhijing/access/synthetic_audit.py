"""A synthetic audit history: normal police work plus planted misuse, with its truth.

Used by tests and benchmarks to prove the oversight rules fire on misuse and stay quiet
on normal work (precision / recall per rule).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _ev(actor, unit, purpose, records, t) -> AuditEvent:
    return AuditEvent(actor=actor, unit=unit, operation="consult", outcome="allowed", purpose=purpose, records=list(records),
                      query="/api/persons", time=t.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ"))  # fmt: skip
