"""A model's card and its inbox come from the same run: the demo's risk step runs each
model as of the city's present and scores that very run's warnings on the card; the
planted fundraising company is warned (it never was: its card said recall 1 and a lead
time from back-test dates while the run of today found nothing) and opens from the screen."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from rich.console import Console

from zhijing.derived.risk import evaluate, loop
from zhijing.derived.risk.registry import MODELS


@pytest.fixture(scope="module")
def demo_home(risk_city, tmp_path_factory):
    """The demo's risk step on the shared small city (back-tests stubbed: they are
    tests/risk/test_econ.py's; the runs and their scoring are real)."""
    from zhijing.access.seed import seed_demo
    from zhijing.config import Settings

    settings, truth = risk_city
    home = tmp_path_factory.mktemp("risk-cards") / "home"
    home.mkdir()
    (home / "lake").symlink_to(settings.lake_dir)
    s = Settings(home=home)
    seed_demo(s)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(evaluate, "EVALUATORS", {n: (lambda settings, t: {"lead_days_before_collapse": 99.0}) for n in MODELS})
        loop.demo_models(s, truth.root.parent, Console(file=io.StringIO()))
    for name in MODELS:  # the daily job runs them again: a re-run keeps card and inbox together
        loop.run(s, name, truth=truth)
    return s, truth


def _inbox(s, name: str) -> list[dict]:
    """The model's open warnings in every unit's inbox, each read in full (identity included)."""
    w = loop.warnings_t
    with loop.engine(s).connect() as conn:
        ids = conn.execute(sa.select(w.c.id).where(w.c.model == name, w.c.current, w.c.state != "closed")).scalars()
        return [loop.get(s, i) for i in ids]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_card_reports_the_run_its_inbox_holds(demo_home, name):
    s, truth = demo_home
    card = {c["name"]: c for c in loop.model_cards(s)}[name]
    part = card["evaluation"]["run"]
    box = _inbox(s, name)
    assert {w["run_id"] for w in box} <= {part["run_id"]} and part["warnings"] == len(box)
    assert len({w["subject"] for w in box}) == len(box)  # one warning a subject (laundering: one a hub, not a window)
    assert loop.run_record(s, part["run_id"])["as_of"] == part["as_of"]
    if name in evaluate.ANSWERS:  # scored on the same warnings, against the planted answers
        planted, names = evaluate.ANSWERS[name](truth)
        found = set().union(*(names(w) for w in box)) if box else set()
        assert part["recall"] == len(found) / len(planted) and part["planted"] == len(planted)
        assert part["true_warnings"] == sum(1 for w in box if names(w))
    assert card["evaluation"].get("lead_days_before_collapse") == 99.0  # the back-test beside


def test_the_planted_fundraising_company_is_warned_and_opens(demo_home, make_api):
    s, truth = demo_home
    fund = truth.json("fundraising")
    part = {c["name"]: c for c in loop.model_cards(s)}["fundraising"]["evaluation"]["run"]
    assert part["recall"] == 1.0 and part["warnings"] >= 1
    api = make_api(s.home)
    h = api.headers("fenxi01")  # the city bureau: the 经侦 desk's warnings are in its inbox
    box = api.get("/api/risk/inbox", params={"model": "fundraising"}, headers=h).json()["items"]
    company = next(w for w in box if w["subject"] == fund["uscc"])
    assert company["subject_kind"] == "company" and company["label"] == "宁波鑫盛投资咨询有限公司"
    opened = api.get(f"/api/risk/warnings/{company['id']}", headers=h).json()  # no person: opens without a purpose
    assert opened["evidence"]["depositors"] >= 10 and opened["evidence"]["repaid_depositors"] > 0
