"""The access layer's periodic jobs (DESIGN.md §2.5–2.7): seal the audit trail, run the
misuse rules for 督察, purge audit entries past retention. The CLI runs them on demand,
the server's scheduler on a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from zhijing.config import Settings
from zhijing.errors import ZhijingError

MIN_AUDIT_RETENTION_DAYS = 183  # CSL Art. 21: network logs kept at least six months


def seal_audit(settings: Settings) -> dict | None:
    from zhijing.access.audit.store import log_for

    return log_for(settings).seal()


def run_oversight(settings: Settings, household_of: Callable[[str], str | None]) -> int:
    """New misuse flags raised over the whole audit trail. ``household_of`` (master person ->
    household) comes from the serving store, a layer above access: the caller at the top
    passes it (api/scheduler.py)."""
    from zhijing.access import oversight
    from zhijing.access.context import assigned_of, home_of, roles_of, subjects_of, topic_of

    return oversight.run(settings, subjects_of(settings), household_of, home_of(settings),
                         roles_of(settings), assigned_of(settings), topic_of(settings))


def purge_audit(settings: Settings, days: int | None = None) -> int:
    """Remove audit entries past retention (the purge is itself audited by the log)."""
    from zhijing.access.audit.store import log_for

    days = settings.audit_retention_days if days is None else days
    if days < MIN_AUDIT_RETENTION_DAYS:
        raise ZhijingError(f"audit records must be kept at least {MIN_AUDIT_RETENTION_DAYS} days (CSL Art. 21)")
    cutoff = (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    return log_for(settings).purge_before(cutoff, "system:retention")
