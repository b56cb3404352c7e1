"""A generated year's seized items and custody records imported into the custody store (补录):
every chain verifies, and supervision's flag "no custody record" finds exactly the items the
generator planted without one (recall and precision 1.0 against the truth)."""

from __future__ import annotations

from zhijing.cases import seized
from zhijing.sources.generate.procedure import year_of_cases


def test_an_imported_year_flags_exactly_the_planted_custody_gaps(settings):
    year = year_of_cases(600, seed=5)
    done = seized.load_generated(settings, year.seizures, year.custody)
    assert done["items"] == len(year.seizures) and done["entries"] == len(year.custody) > 0
    planted = {g["item_id"] for g in year.truth["custody_gaps"]}
    flagged = {f["item_id"] for f in seized.flags(settings) if f["rule"] == "property_without_custody"}
    assert planted and flagged == planted  # recall 1.0, precision 1.0
    v = seized.verify(settings)
    assert v.ok and v.items == done["items"] and v.entries == done["entries"], v.problems[:3]


def test_seizures_without_records_get_their_intake_except_the_gaps(settings):
    year = year_of_cases(300, seed=9)
    gaps = {g["item_id"] for g in year.truth["custody_gaps"]}
    done = seized.load_seizures(settings, year.seizures.to_dict("records"), gaps)
    assert done["without_custody"] == len(gaps) and done["entries"] == len(year.seizures) - len(gaps)
    assert {f["item_id"] for f in seized.flags(settings)} == gaps
