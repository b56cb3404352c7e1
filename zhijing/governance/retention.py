"""Retention (全生命周期): purge what the catalog says may no longer be kept.

For each dataset, rows whose time (the spec's ``time_field``; ``_ingested_at`` for
datasets without one) is older than ``retention_days`` are removed from the clean zone;
the raw rows they came from (same source file and line) go with them, and quarantine rows
of ingests older than the cutoff. Files are rewritten and the old ones deleted — a purge
really erases. Every purge is logged in the catalog and, when the access layer provides
it, appended to the audit trail.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from zhijing.config import Settings
from zhijing.governance import catalog
from zhijing.lake.store import current_files, rewrite
from zhijing.sources.connectors.base import quote_ident as q
from zhijing.sources.spec import load_spec

log = logging.getLogger(__name__)


def _audit(settings: Settings, dataset: str, removed: int, cutoff: str) -> None:
    """Hand the purge to the audit trail (DESIGN.md §2.7: a purge is itself audited)."""
    from zhijing.access.audit import AuditEvent, append

    append(AuditEvent(actor="system:retention", operation="erase", outcome="allowed", purpose="retention",
                      query=f"purge {dataset} before {cutoff}", reason=f"{removed} rows past retention"), settings)  # fmt: skip


def purge(settings: Settings, as_of: datetime | None = None, datasets: list[str] | None = None,
          dry_run: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Remove expired rows from every dataset (or ``datasets``); returns what was removed."""
    as_of = as_of or datetime.now(UTC)
    report = []
    for spec in load_spec(settings).datasets:
        if datasets and spec.name not in datasets:
            continue
        cutoff = as_of - timedelta(days=spec.retention_days)
        if not current_files(settings, "clean", spec.name):
            continue
        time_col = q(spec.time_field) if spec.time_field else "_ingested_at"
        expired = f"{time_col} < TIMESTAMPTZ '{cutoff.isoformat()}'"
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            files = current_files(settings, "clean", spec.name)
            con.execute(
                "CREATE TEMP TABLE purged AS SELECT _source_file, _source_line FROM read_parquet(?, union_by_name=true) "
                f"WHERE {expired}",
                [files],
            )
            n = con.execute("SELECT count(*) FROM purged").fetchone()[0]
            q_cut = cutoff.strftime("%Y%m%dT%H%M%SZ")
            removed = {"clean": n, "raw": 0, "quarantine": 0}
            if not dry_run:
                lineage = {"purged_at": as_of.isoformat(), "purge_cutoff": cutoff.isoformat()}
                removed["clean"] = rewrite(settings, "clean", spec.name, con, f"NOT coalesce({expired}, false)", lineage)
                removed["raw"] = rewrite(
                    settings, "raw", spec.name, con,
                    "NOT EXISTS (SELECT 1 FROM purged p WHERE p._source_file = t._source_file AND p._source_line = t._source_line)",
                    lineage,
                )  # fmt: skip
                if current_files(settings, "quarantine", spec.name):
                    removed["quarantine"] = rewrite(settings, "quarantine", spec.name, con, f"_ingest_id >= '{q_cut}'", lineage)
        entry = {"dataset": spec.name, "cutoff": cutoff.isoformat(), "retention_days": spec.retention_days,
                 "removed": removed, "dry_run": dry_run}  # fmt: skip
        if not dry_run and any(removed.values()):
            catalog.record_purge(settings, spec.name, cutoff, removed)
            _audit(settings, spec.name, sum(removed.values()), cutoff.isoformat())
        report.append(entry)
    return report
