"""The scheduled half of the access contract: the server's clock seals the audit trail,
runs the misuse rules and enforces retention — each job the same function as its CLI
command, a failing job logged without taking the server down."""

from __future__ import annotations

import logging

import pytest

from zhijing.access.audit.store import AuditEvent, log_for
from zhijing.access.jobs import purge_audit, seal_audit
from zhijing.api import scheduler
from zhijing.config import ScheduleSettings, Settings
from zhijing.errors import ZhijingError


def test_the_jobs_follow_the_settings(tmp_path):
    s = Settings(home=tmp_path)
    assert set(scheduler.jobs(s)) == {"audit-seal", "oversight", "retention-datasets", "retention-audit", "risk-models", "watchlist",
                                      "sharing-deliveries", "sharing-detect", "sharing-purge", "warm-caches"}  # fmt: skip
    off = Settings(home=tmp_path, schedule=ScheduleSettings(seal_minutes=0, oversight_minutes=0, retention_hour=-1, risk_hour=-1,
                                                            watch_minutes=0, sharing_delivery_seconds=0, sharing_detect_minutes=0,
                                                            sharing_purge_minutes=0, warm_hour=-1))  # fmt: skip
    assert scheduler.jobs(off) == {}


def test_the_scheduler_runs_its_jobs(tmp_path):
    s = Settings(home=tmp_path, schedule=ScheduleSettings(seal_minutes=1, oversight_minutes=0, retention_hour=-1))
    log = log_for(s)
    log.append(AuditEvent(actor="u1", operation="consult", outcome="allowed", purpose="case:X", records=["PM1"]))
    sched = scheduler.start(s)
    try:
        job = sched.get_job("audit-seal")
        assert job is not None and job.next_run_time is not None
        job.func(*job.args)  # what the clock calls
    finally:
        sched.shutdown(wait=False)
    v = log.verify()
    assert v.ok and v.seals_checked == 1


def test_audit_retention_is_configurable_but_never_below_six_months(tmp_path):
    s = Settings(home=tmp_path, audit_retention_days=200)
    log = log_for(s)
    log.append(AuditEvent(actor="u1", operation="consult", outcome="allowed", time="2020-01-01T00:00:00.000000Z"))
    log.append(AuditEvent(actor="u1", operation="consult", outcome="allowed"))
    seal_audit(s)
    assert purge_audit(s) == 1  # the 2020 entry is past 200 days
    assert log.verify().ok and log.events(5)[0]["operation"] == "erase"  # the purge is itself audited
    with pytest.raises(ZhijingError, match="6 months|183"):
        purge_audit(s, days=90)


def test_a_failing_job_is_logged_not_raised(tmp_path, caplog):
    def broken(_settings):
        raise RuntimeError("disk full at /secret/path")

    with caplog.at_level(logging.ERROR, logger="zhijing.api.scheduler"):
        scheduler._guarded("audit-seal", broken, Settings(home=tmp_path))
    assert "audit-seal failed: RuntimeError" in caplog.text and "/secret/path" not in caplog.text
