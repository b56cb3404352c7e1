"""The workbench's lake jobs, run after every ingest and resolve (the hook that keeps the
presence table and the search index at the lake's current versions)."""

from __future__ import annotations

import time

from zhijing.derived.workbench import index_sync, presence


def refresh(settings, full_index: bool = False) -> dict:
    """Rebuild ``derived/presence`` and bring the search index up to date."""
    t0 = time.perf_counter()
    rows = presence.build(settings)
    t1 = time.perf_counter()
    indexed = index_sync.update(settings, full=full_index)
    return {"presence_rows": rows, "presence_s": round(t1 - t0, 2), "index": indexed,
            "index_s": round(time.perf_counter() - t1, 2)}  # fmt: skip
