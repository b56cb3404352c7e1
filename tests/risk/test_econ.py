"""神鹰 economic-crime warning against the planted fundraising company, pyramid, mules and
laundering shapes — each beside its plain threshold baseline in the same run."""

from __future__ import annotations

import pandas as pd

from zhijing.derived.risk import aml, fundraising
from zhijing.derived.risk import evaluate as ev


def test_fundraising_company_flagged_before_complaints_and_collapse(risk_city):
    settings, truth = risk_city
    e = ev.eval_fundraising(settings, truth)
    print("fundraising", e)
    assert e["lead_days_before_collapse"] > 0  # flagged, with evidence, before the collapse
    assert e["period_precision"] == 1.0 and e["period_precision"] > e["baseline_period_precision"]
    top = fundraising.score(settings, pd.Timestamp(truth.json("fundraising")["collapse"])).iloc[0]
    assert top.uscc == truth.json("fundraising")["uscc"]
    evidence = fundraising.evidence(top)
    assert (
        evidence["repaid_depositors"] > 0
        and evidence["complaints_naming_company"] >= 2
        and evidence["depositors"] >= 10
    )


def test_pyramid_root_flagged_before_collapse(risk_city):
    settings, truth = risk_city
    e = ev.eval_pyramid(settings, truth)
    print("pyramid", e)
    assert e["lead_days_before_collapse"] > 0 and e["root_rank"] == 1 and e["member_recall"] >= 0.9
    assert not e["baseline_flags_root"]  # ≥ 5 equal payments in: the root's recruits are few


def test_mules_recall_and_precision(risk_city):
    settings, truth = risk_city
    e = ev.eval_mules(settings, truth)
    print("mules", e)
    assert e["recall"] >= 0.9 and e["precision"] >= 0.8
    assert e["precision"] > e["baseline_precision"]


def test_laundering_shapes_f1_beside_threshold(risk_city):
    settings, truth = risk_city
    e = ev.eval_aml(settings, truth)
    print("aml", {k: round(v, 3) for k, v in e.items()})
    for pattern in aml.PATTERNS:
        assert e[f"{pattern}_f1"] >= 0.75, pattern
    assert e["any_f1"] >= 0.9 and e["any_f1"] > e["baseline_f1"]
