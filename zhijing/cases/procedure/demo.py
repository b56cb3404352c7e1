"""The demo's case procedure: a year of the generated city's cases up to now, replayed into the
store (the 专案 of the demo case linked to one of them, worked by its investigator), its seized
property booked by custody, and supervision run — so the 执法办案 pages and 法制 / 督察's flags
have a county's year to show."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from zhijing.access.seed import DEMO_CASE
from zhijing.cases import seized
from zhijing.cases.procedure import replay, supervision
from zhijing.config import Settings
from zhijing.sources.generate.procedure import year_of_cases

INVESTIGATOR = "xingzhen01"  # works the demo case (its 专案 is DEMO_CASE)


def demo_year(settings: Settings, cases: int = 2000) -> dict:
    units_csv = settings.city_dir / "sources" / "org" / "units.csv"
    units = pd.read_csv(units_csv, dtype=str).fillna("") if units_csv.exists() else None
    now = datetime.now(UTC)
    year = year_of_cases(cases, seed=23, units=units, workspace_refs=[DEMO_CASE], until=now)
    linked = year.cases.workspace_ref == DEMO_CASE
    case_id = str(year.cases.loc[linked, "id"].iloc[0])
    year.cases.loc[linked, "handler"] = INVESTIGATOR
    year.events.loc[year.events.case_id == case_id, "actor"] = INVESTIGATOR
    done = replay.replay(settings, {"cases": year.cases, "events": year.events})
    seized.load_generated(settings, *replay.fresh_property(done, year.seizures, year.custody))
    flags = supervision.run(settings, as_of=now, property_flags=seized.flags)
    return {"cases": done.cases, "refused": len(done.refused), "linked": case_id, "flags": flags["flags"]}
