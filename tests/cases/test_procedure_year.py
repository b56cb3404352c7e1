"""A generated year of cases replayed through the state machine: every unlawful step the
generator planted is refused with its rule and nothing else is; supervision then finds every
planted overrun, person held too long, missing document and closure without approval
(recall 1.0, precision reported), each sent to 法制 or 督察 with its evidence."""

from __future__ import annotations

import pytest

from zhijing.cases import seized
from zhijing.cases.procedure import replay, service, store, supervision
from zhijing.config import Settings
from zhijing.sources.generate.procedure import year_of_cases

WORKSPACE = "case:A330200000000001"
# supervision's rule → (truth list, key of a flag, key of a truth row)
MATCH = {
    "deadline_breach": ("deadline_breaches", lambda f: (f["case_id"], f["subject"]), lambda t: (t["case_id"], t["limit"])),
    "held_past_limit": ("held_past_limit", lambda f: (f["case_id"], f["subject"], f["person"]), lambda t: (t["case_id"], t["limit"], t["person"])),
    "missing_document": ("missing_documents", lambda f: (f["case_id"], f["subject"], f["person"] or ""),
                         lambda t: (t["case_id"], t["document"], t["person"])),
    "closed_without_approval": ("unapproved_closures", lambda f: (f["case_id"], f["subject"]), lambda t: (t["case_id"], t["action"])),
}  # fmt: skip


@pytest.fixture(scope="module")
def year():
    return year_of_cases(700, seed=5, workspace_refs=[WORKSPACE])


@pytest.fixture(scope="module")
def replayed(year, tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("procedure-year") / "home")
    audit = []
    tables = {"cases": year.cases, "events": year.events}
    out = replay.replay(settings, tables, audit=lambda *a: audit.append(a))
    return settings, out, audit


def test_every_kind_of_fault_is_planted(year):
    assert all(year.truth[k] for k in ("illegal", "deadline_breaches", "held_past_limit", "missing_documents", "unapproved_closures"))
    assert {t["rule"] for t in year.truth["illegal"]} == {"transition", "separation_of_duties", "document_state", "backdating",
                                                          "extension_condition"}  # fmt: skip


def test_replay_accepts_no_unlawful_step(year, replayed):
    _, out, audit = replayed
    planted = {(t["case_id"], t["n"]): t["rule"] for t in year.truth["illegal"]}
    refused = {(r["case_id"], r["n"]): r["rule"] for r in out.refused}
    assert refused == planted  # every planted one refused with its rule, no lawful one refused
    assert out.accepted + len(out.refused) == len(year.events) and out.cases == len(year.cases)
    assert audit and audit[0][0] == "collect"


def test_supervision_finds_every_planted_fault(year, replayed):
    settings = replayed[0]
    found = supervision.findings(settings, as_of=year.horizon)
    scores = {}
    for rule, (truth, flag_key, truth_key) in MATCH.items():
        want, got = {truth_key(t) for t in year.truth[truth]}, {flag_key(f) for f in found[rule]}
        scores[rule] = (len(want & got) / len(want), len(want & got) / max(len(got), 1))
        assert want <= got, f"{rule}: missed {sorted(want - got)[:3]}"
    print("recall, precision:", scores)
    assert min(p for _, p in scores.values()) >= 0.95
    assert not found["step_without_approval"]
    one = found["held_past_limit"][0]["evidence"]
    assert one["over_hours"] > 0 and one["articles"] and one["due_at"] < (one["stopped_at"] or year.horizon)


def test_flags_go_to_their_department(year, replayed):
    settings = replayed[0]
    supervision.run(settings, as_of=year.horizon)
    fazhi, ducha = supervision.latest_flags(settings, "法制", limit=5000), supervision.latest_flags(settings, "督察", limit=5000)
    assert {f["rule"] for f in fazhi} == {"deadline_breach", "missing_document", "closed_without_approval"}
    assert {f["rule"] for f in ducha} == {"held_past_limit"}


def test_replaying_again_changes_nothing(year, replayed):
    settings, first, _ = replayed
    again = replay.replay(settings, {"cases": year.cases.head(50), "events": year.events})
    assert again.cases == 0 and again.accepted == 0
    assert len(store.stored_ids(settings)[0]) == first.cases


def test_live_case_numbers_pass_over_imported_ones(year, replayed):
    settings = replayed[0]
    first = year.cases.iloc[0]
    cid = service.open_case(settings, kind=first.kind, title="新案", unit_code=first.unit_code, handler="someone", purpose="报案",
                            audit=lambda *a: None)  # fmt: skip
    assert cid not in set(year.cases.id) and store.case_detail(settings, cid)["case"]["source"] == "live"


def test_workspace_links_the_procedure_case(replayed):
    settings = replayed[0]
    (linked,) = service.case_of_workspace(settings, WORKSPACE)
    assert store.case_detail(settings, linked)["case"]["workspace_ref"] == WORKSPACE


def test_property_without_custody_found(year, replayed):
    """Custody's import of the year's seizures and records, then its flags through supervision."""
    settings = replayed[0]
    seized.load_generated(settings, year.seizures, year.custody)
    found = supervision.findings(settings, as_of=year.horizon, property_flags=seized.flags)
    gaps = {g["item_id"] for g in year.truth["custody_gaps"]}
    got = {f["subject"] for f in found["property_without_custody"]}
    assert gaps and gaps <= got
    print("property_without_custody recall 1.0, precision", len(gaps & got) / len(got))
    assert all(f["evidence"]["case_id"] == f["case_id"] for f in found["property_without_custody"])
