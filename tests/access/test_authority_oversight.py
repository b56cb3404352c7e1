"""Misuse rules that read exports and supervisors' reads too (issue 11, 4): bulk exports,
exports without a second officer's approval, reads under a purpose one only supervises,
administrators and auditors reading person data, and repeated refusals — each finds its
planted misuse and nothing else, beside the older rules, on a generated audit history."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from zhijing.access import oversight, synthetic_audit

RULES = ("unrelated_read", "bulk_read", "after_hours", "many_officers", "relatives", "bulk_export", "unapproved_export",
         "supervisor_read", "admin_read", "many_refusals", "off_topic")  # fmt: skip


def _found(h) -> set[tuple]:
    events = [{"seq": i, **asdict(e)} for i, e in enumerate(h.events)]
    flags = oversight.detect(events, lambda p: h.subjects.get(p, set()), h.household.get, h.home.get,
                             lambda u: h.roles.get(u, set()), lambda p: h.assigned.get(p, set()), h.topics.get)  # fmt: skip
    return {(f["rule"], f["actor"], f["subject"]) for f in flags}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_duty_rules_find_their_planted_misuse_and_nothing_else(seed):
    h = synthetic_audit.build_duties(seed=seed)
    got = _found(h)
    assert got == h.truth, (got - h.truth, h.truth - got)
    assert {t[0] for t in h.truth} == set(RULES[5:])


def test_exports_count_as_reads_for_the_older_rules():
    h = synthetic_audit.build_duties(seed=4)
    stray = "M999999"
    h.events.append(synthetic_audit._export("officer06", "U2", "case:B060", stray, "RX", "approval not required",
                                            synthetic_audit.pd.Timestamp("2026-03-03 11:00", tz="Asia/Shanghai")))  # fmt: skip
    assert ("unrelated_read", "officer06", stray) in _found(h) - h.truth


def test_a_ticket_or_order_naming_nobody_opens_nobody():
    """Every person read under a service ticket or control order that names no one is unrelated."""
    t = synthetic_audit.pd.Timestamp("2026-03-03 11:00", tz="Asia/Shanghai")
    events = [{"seq": i, **asdict(synthetic_audit._ev("officer01", "U1", purpose, ["M000001"], t))}
              for i, purpose in enumerate(("ticket:GD1", "order:K1", "case:C1"))]  # fmt: skip
    flags = oversight.detect(events, lambda p: set(), lambda r: None, lambda u: None)
    assert sorted((f["rule"], f["subject"], f["evidence"][0]) for f in flags) == [("unrelated_read", "M000001", 0), ("unrelated_read", "M000001", 1)]


def test_the_server_job_knows_roles_and_assignments(api):
    from zhijing.access.audit import AuditEvent
    from zhijing.access.audit.store import log_for
    from zhijing.access.seed import DEMO_CASE
    from zhijing.api.scheduler import run_oversight
    from zhijing.config import get_settings

    s = get_settings()
    log_for(s).append_many([
        AuditEvent(actor="ducha01", unit="330200000000", operation="consult", outcome="allowed", purpose=DEMO_CASE, records=["PM1"]),
        AuditEvent(actor="xingzhen01", unit="330212000000", operation="disclose", outcome="allowed", purpose=DEMO_CASE,
                   records=["PM2"], query="person file export E1 request R1 approval required"),
        *[AuditEvent(actor="paichusuo01", operation="consult", outcome="refused", purpose=DEMO_CASE) for _ in range(10)],
    ])  # fmt: skip
    assert run_oversight(s) >= 4
    got = {(f["rule"], f["actor"]) for f in oversight.list_flags(s, "open")}
    assert {("admin_read", "ducha01"), ("supervisor_read", "ducha01"), ("unapproved_export", "xingzhen01"),
            ("many_refusals", "paichusuo01")} <= got  # fmt: skip
    assert ("supervisor_read", "xingzhen01") not in got  # assigned to the case


def test_the_command_runs_the_server_job(api):
    """``zhijing oversight run`` is wired at the top (it needs the serving store's households)
    and runs the very job of the server's clock: nothing new after the server's run."""
    from typer.testing import CliRunner

    from zhijing.api.scheduler import run_oversight
    from zhijing.cli import app
    from zhijing.config import get_settings

    run_oversight(get_settings())
    out = CliRunner().invoke(app, ["oversight", "run"])
    assert out.exit_code == 0 and "0 new flags" in out.output
