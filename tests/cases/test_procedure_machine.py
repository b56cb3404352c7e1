"""The state machine refuses what the rules forbid, naming the rule: illegal transitions, a
back-dated step, an approval by the case's own handler, an extension without its condition,
a live step without the approval its rank needs (an imported one is kept and marked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zhijing.cases.procedure import machine
from zhijing.cases.procedure.machine import Account, Case, Refused, Step
from zhijing.cases.procedure.rules import load

T0 = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
BOSS = Account("kezhang", "分局", ("officer", "approver"))
STATION_BOSS = Account("suozhang", "派出所", ("officer", "approver"))


def run(case: Case, *steps: Step, live: bool = False) -> Case:
    for s in steps:
        machine.apply(case, s, machine.check(load(), case, s, live=live))
    return case


def investigating() -> Case:
    return run(Case("criminal", "xingjing"), Step("受案", T0, "xingjing"), Step("立案", T0 + timedelta(hours=5), "xingjing", approver=BOSS))


def refused(case: Case, step: Step, live: bool = False) -> str:
    with pytest.raises(Refused) as e:
        machine.check(load(), case, step, live=live)
    return e.value.rule


def test_criminal_path_to_prosecution():
    c = investigating()
    t = T0 + timedelta(days=1)
    run(c, Step("拘留", t, "xingjing", "P1", BOSS), Step("延长拘留", t + timedelta(days=2), "xingjing", "P1", BOSS, condition="多次作案"),
        Step("提请批准逮捕", t + timedelta(days=20), "xingjing", "P1", BOSS),
        Step("批准逮捕", t + timedelta(days=25), "xingjing", "P1", decision_ref="甬鄞检批捕〔2026〕12号"),
        Step("侦查终结", t + timedelta(days=50), "xingjing", approver=BOSS),
        Step("移送审查起诉", t + timedelta(days=51), "xingjing", approver=BOSS))
    assert c.state == "移送审查起诉" and c.measures["P1"] == "逮捕"
    assert all(r.stopped_at for r in c.limits.values())  # every limit stopped in time
    assert c.limits[("拘留后提请批捕", "P1")].extended_by == "多次作案"


def test_illegal_transitions_refused():
    c = run(Case("criminal", "xingjing"), Step("受案", T0, "xingjing"))
    assert refused(c, Step("移送审查起诉", T0 + timedelta(hours=1), "xingjing", approver=BOSS)) == "transition"
    assert refused(c, Step("拘留", T0 + timedelta(hours=1), "xingjing", "P1", BOSS)) == "measure_state"  # not yet 立案
    assert refused(c, Step("受案", T0 + timedelta(hours=1), "xingjing")) == "transition"
    assert refused(c, Step("处罚决定", T0 + timedelta(hours=1), "xingjing", approver=BOSS)) == "action"
    c2 = investigating()
    assert refused(c2, Step("批准逮捕", T0 + timedelta(days=1), "xingjing", "P1", decision_ref="x")) == "transition"
    done = run(investigating(), Step("撤案", T0 + timedelta(days=2), "xingjing", approver=BOSS))
    assert refused(done, Step("侦查终结", T0 + timedelta(days=3), "xingjing", approver=BOSS)) == "final"


def test_backdated_steps_refused():
    c = investigating()
    assert refused(c, Step("拘留", T0 + timedelta(hours=1), "xingjing", "P1", BOSS)) == "backdating"  # before 立案
    now = datetime.now(UTC)
    fresh = run(Case("criminal", "xingjing"), Step("受案", now - timedelta(minutes=5), "xingjing", recorded_at=now), live=True)
    assert refused(fresh, Step("立案", now - timedelta(hours=3), "xingjing", approver=BOSS, recorded_at=now), live=True) == "backdating"
    assert refused(fresh, Step("立案", now + timedelta(hours=3), "xingjing", approver=BOSS, recorded_at=now), live=True) == "backdating"


def test_own_handler_cannot_approve():
    c = run(Case("criminal", "xingjing"), Step("受案", T0, "xingjing"))
    me = Account("xingjing", "分局", ("officer", "approver"))
    e = refused(c, Step("立案", T0 + timedelta(hours=1), "xingjing", approver=me))
    assert e == "separation_of_duties"
    assert refused(c, Step("立案", T0 + timedelta(hours=1), "helper", approver=me)) == "separation_of_duties"  # the case's handler


def test_extension_needs_its_condition():
    c = run(investigating(), Step("拘留", T0 + timedelta(days=1), "xingjing", "P1", BOSS))
    t = T0 + timedelta(days=2)
    assert refused(c, Step("延长拘留", t, "xingjing", "P1", BOSS)) == "extension_condition"
    assert refused(c, Step("延长拘留", t, "xingjing", "P1", BOSS, condition="案情需要")) == "extension_condition"
    assert refused(c, Step("延长传唤", t, "xingjing", "P1", BOSS, condition="案情特别重大复杂需要采取拘留逮捕措施")) == "transition"
    out = machine.check(load(), c, Step("延长拘留", t, "xingjing", "P1", BOSS, condition="特殊情况"), live=False)
    assert out.extends[1] == "特殊情况"


def test_approval_rank_live_refused_import_marked():
    c = run(Case("criminal", "xingjing"), Step("受案", T0, "xingjing"))
    step = Step("立案", T0 + timedelta(hours=1), "xingjing", approver=STATION_BOSS, recorded_at=T0 + timedelta(hours=1))
    assert refused(c, step, live=True) == "approval"
    assert refused(c, Step("立案", step.at, "xingjing", recorded_at=step.at), live=True) == "approval"
    imported = machine.check(load(), c, Step("立案", step.at, "xingjing"), live=False)
    assert not imported.approval_ok and "县级以上公安机关负责人" in imported.approval_note
    assert machine.check(load(), c, step, live=False).approval_ok is False


def test_administrative_path():
    c = run(Case("administrative", "zhian"), Step("受案", T0, "zhian"), Step("调查", T0 + timedelta(hours=1), "zhian"),
            Step("传唤", T0 + timedelta(hours=2), "zhian", "P2", STATION_BOSS), Step("传唤结束", T0 + timedelta(hours=9), "zhian", "P2"),
            Step("告知", T0 + timedelta(days=2), "zhian"), Step("处罚决定", T0 + timedelta(days=3), "zhian", approver=STATION_BOSS),
            Step("执行", T0 + timedelta(days=3, hours=1), "zhian"), Step("结案", T0 + timedelta(days=4), "zhian", approver=STATION_BOSS))
    assert c.state == "结案"
    assert c.limits[("询问查证", "P2")].stopped_at <= c.limits[("询问查证", "P2")].due_at
    now = datetime.now(UTC)
    fresh = run(Case("administrative", "zhian"), Step("受案", now, "zhian", recorded_at=now), live=True)
    ask = Step("延长办案期限", now, "zhian", approver=STATION_BOSS, condition="案情重大复杂", recorded_at=now)
    assert refused(fresh, ask, live=True) == "approval"  # the station's own head is not the level above


def test_rules_file_is_consistent():
    r = load()
    assert set(r.machines) == {"criminal", "administrative"}
    for lim in r.limits.values():
        assert lim.articles, "every limit cites its articles"
    cited = [a for lim in r.limits.values() for a in lim.articles] + [a for d in r.documents.values() for a in d.articles]
    cited += [a for m in r.machines.values() for acts in (m.case, m.measures.actions) for x in acts.values() for a in x.articles]
    assert cited and all(a.split()[0] in r.sources for a in cited), "every article names one of the sources"
    assert all(x.articles for m in r.machines.values() for acts in (m.case, m.measures.actions) for x in acts.values())
