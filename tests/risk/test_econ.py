"""神鹰 economic-crime warning against the planted fundraising company, pyramid, mules and
laundering shapes — each beside its plain threshold baseline in the same run."""

from __future__ import annotations

import pandas as pd

from tests.risk.conftest import f1
from zhijing.derived.risk import aml, fundraising, mules, pyramid


def _first_flag(fn, settings, start, end, key) -> pd.Timestamp | None:
    for day in pd.date_range(start, end, freq="7D"):
        s = fn(settings, day)
        if len(s) and key(s[s.flagged]):
            return day
    return None


def _account(truth, person_id) -> str:
    acc = truth.file("accounts")
    return acc[(acc.holder_person_id == person_id) & (acc.kind == "个人")].account_no.iloc[0]


def test_fundraising_company_flagged_before_complaints_and_collapse(risk_city):
    settings, truth = risk_city
    fund = truth.json("fundraising")
    collapse = pd.Timestamp(fund["collapse"])
    first_complaint = pd.to_datetime(truth.table("complaints").query("about == 'fundraising'").slsj).min()
    flagged = _first_flag(
        fundraising.score, settings, "2025-02-01", collapse, lambda f: fund["uscc"] in set(f.uscc)
    )
    assert flagged is not None and flagged < collapse
    print(f"fundraising lead time: {(collapse - flagged).days} d before collapse, "
          f"{(first_complaint - flagged).days} d before the first complaint")  # fmt: skip
    s = fundraising.score(settings, collapse)
    top = s.iloc[0]
    assert top.uscc == fund["uscc"] and top.repaid > 0 and top.complaints >= 2
    assert fundraising.evidence(top)["depositors"] >= 10


def test_pyramid_root_flagged_before_collapse(risk_city):
    settings, truth = risk_city
    pc = truth.json("pyramid_collapse")
    collapse = pd.Timestamp(pc["collapse"])
    root = _account(truth, pc["root"])
    flagged = _first_flag(pyramid.score, settings, "2025-02-01", collapse, lambda f: root in set(f.root))
    assert flagged is not None and flagged < collapse
    s = pyramid.score(settings, collapse)
    hit = s[s.root == root].iloc[0]
    members = {_account(truth, p) for p in truth.table("pyramid").person_id}
    assert hit.depth >= 3 and len(set(hit.members) & members) / len(members) >= 0.9
    # the baseline (≥ 5 equal payments in) misses the root, whose recruits are few
    assert not s[s.baseline].root.isin([root]).any()


def test_mules_recall_and_precision(risk_city):
    settings, truth = risk_city
    mule_accounts = set(truth.json("fraud_ring")["mule_accounts"])
    s = mules.score(settings, pd.Timestamp("2026-07-01"))
    p, r, _ = f1(set(s[s.flagged].account), mule_accounts)
    bp, br, _ = f1(set(s[s.baseline].account), mule_accounts)
    print(f"mules: precision {p:.2f} recall {r:.2f}; baseline precision {bp:.2f} recall {br:.2f}")
    assert r >= 0.9 and p >= 0.8
    assert p > bp


def test_laundering_shapes_f1_beside_threshold(risk_city):
    settings, truth = risk_city
    planted = truth.table("aml_accounts")
    flagged, base, _ = aml.run(settings)
    every = set(planted.account_no)
    for pattern in aml.PATTERNS:
        p, r, f = f1(flagged[pattern], set(planted[planted.pattern == pattern].account_no))
        print(f"{pattern}: precision {p:.2f} recall {r:.2f} F1 {f:.2f}")
        assert f >= 0.75, pattern
    _, _, model_f1 = f1(set().union(*flagged.values()), every)
    _, _, base_f1 = f1(base, every)
    print(f"any laundering: F1 {model_f1:.2f}, plain threshold F1 {base_f1:.2f}")
    assert model_f1 >= 0.9 and model_f1 > base_f1
