"""The server's clock (APScheduler): seal the audit trail, run the misuse rules for 督察,
and enforce retention once a day — the scheduled half of DESIGN.md §2.5–2.7 — and match
what departments pushed against the watchlist (智能布控) every minute.

Each job is the same function its CLI command runs; a failing job is logged and retried at
its next turn, never taking the server down. The slow caches of the console (map layers,
hot-spot forecast) are warmed at start and after midnight. Started by ``zhijing serve`` and the demo,
not by the app factory, so tests and embedded uses get no background threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from zhijing.access import jobs as access_jobs
from zhijing.access.jobs import purge_audit, seal_audit
from zhijing.config import Settings

log = logging.getLogger(__name__)


def run_oversight(settings: Settings) -> int:
    """The misuse rules, with the households of the serving store (the relatives rule)."""
    from zhijing.serving.person_file import household_index

    return access_jobs.run_oversight(settings, household_index(settings).get)


def purge_datasets(settings: Settings) -> None:
    from zhijing.governance.retention import purge

    purge(settings)


def jobs(settings: Settings) -> dict[str, tuple[Callable[[Settings], object], dict]]:
    """Name → (function, APScheduler trigger arguments) for every enabled job."""
    s = settings.schedule
    out: dict[str, tuple[Callable[[Settings], object], dict]] = {}
    if s.seal_minutes > 0:
        out["audit-seal"] = (seal_audit, {"trigger": "interval", "minutes": s.seal_minutes})
    if s.oversight_minutes > 0:
        out["oversight"] = (run_oversight, {"trigger": "interval", "minutes": s.oversight_minutes})
    if 0 <= s.retention_hour <= 23:
        daily = {"trigger": "cron", "hour": s.retention_hour, "minute": 0}
        out["retention-datasets"] = (purge_datasets, daily)
        out["retention-audit"] = (purge_audit, {**daily, "minute": 30})
    if 0 <= s.risk_hour <= 23:
        out["risk-models"] = (run_risk_models, {"trigger": "cron", "hour": s.risk_hour, "minute": 15})
    if s.watch_minutes > 0:
        out["watchlist"] = (match_watchlist, {"trigger": "interval", "minutes": s.watch_minutes})
    if s.sharing_delivery_seconds > 0:
        out["sharing-deliveries"] = (deliver_changes, {"trigger": "interval", "seconds": s.sharing_delivery_seconds})
    if s.sharing_detect_minutes > 0:
        out["sharing-detect"] = (detect_changes, {"trigger": "interval", "minutes": s.sharing_detect_minutes})
    if s.sharing_purge_minutes > 0:
        out["sharing-purge"] = (purge_batches, {"trigger": "interval", "minutes": s.sharing_purge_minutes})
    if 0 <= s.warm_hour <= 23:  # at start too: the first screen after a restart finds them ready
        out["warm-caches"] = (warm_caches, {"trigger": "cron", "hour": s.warm_hour, "minute": 5,
                                            "next_run_time": datetime.now(ZoneInfo(settings.timezone))})  # fmt: skip
    return out


def warm_caches(settings: Settings) -> None:
    """The map's layers of the current data and the day's hot-spot forecast, computed before
    a screen asks (each once per data version, shared by every worker process)."""
    from zhijing.derived import maplayers
    from zhijing.derived.risk import hotspots

    maplayers.manifest(settings, wait_s=600)
    hotspots.cached_forecast(settings, hotspots.today(), wait_s=600)


def match_watchlist(settings: Settings) -> int:
    """Records pushed over HTTP land in the clean zone only: the model takes them in (incremental:
    nothing to do when nothing arrived) and the watchlist sees them within the minute."""
    from zhijing.command import watch

    return len(watch.build_and_match(settings)[1])


def deliver_changes(settings: Settings) -> dict:
    """Post the subscription deliveries that are due (the sharing exchange)."""
    from zhijing.sharing.subscribe import deliver_due

    return deliver_due(settings)


def detect_changes(settings: Settings) -> list[int]:
    """Subscribed persons' moves and vehicle transfers seen in the serving store."""
    from zhijing.serving.store import exists
    from zhijing.sharing.subscribe import detect

    return detect(settings) if exists(settings) else []


def purge_batches(settings: Settings) -> int:
    """Batch comparison uploads and results past their retention."""
    from zhijing.sharing.batch import purge

    return purge(settings)


def run_risk_models(settings: Settings) -> None:
    from zhijing.derived.risk.loop import run_all

    run_all(settings)


def _guarded(name: str, fn: Callable[[Settings], object], settings: Settings) -> None:
    try:
        fn(settings)
    except Exception as exc:  # a scheduled job must not take the server down
        log.error("scheduled job %s failed: %s", name, type(exc).__name__)


def start(settings: Settings) -> BackgroundScheduler:
    sched = BackgroundScheduler(timezone=settings.timezone)
    for name, (fn, trigger) in jobs(settings).items():
        sched.add_job(_guarded, args=(name, fn, settings), id=name, name=name, coalesce=True, max_instances=1,
                      misfire_grace_time=3600, **trigger)  # fmt: skip
    sched.start()
    return sched
