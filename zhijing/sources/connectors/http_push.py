"""HTTP push: departments POST JSON batches to ``/api/ingest/push/{dataset}``.

A batch is a JSON array of objects (or ``{"records": [...]}``). It is landed like a
JSON-lines file — each record one "line" — content-hashed (a repeated batch is a no-op),
published to the raw zone and cleaned at once, on the embedded engine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException

from zhijing.access.guard import require
from zhijing.config import Settings, get_settings
from zhijing.errors import ZhijingError

router = APIRouter(prefix="/api/ingest", tags=["ingest"])
MAX_RECORDS = 100_000


def push_records(settings: Settings, dataset: str, records: list[Any]) -> dict[str, Any]:
    """Land and clean one pushed batch; returns the dataset summary."""
    from zhijing.governance.ingest import ingest_lines
    from zhijing.sources.spec import load_spec

    try:
        spec = load_spec().dataset(dataset)
    except KeyError as exc:
        raise ZhijingError(f"unknown dataset {dataset!r}") from exc
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    sha = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return ingest_lines(settings, spec, lines, origin=f"push:{sha[:16]}", sha256=sha)


@router.post("/push/{dataset}")
def push(
    dataset: str, body: Any = Body(...), ctx=Depends(require("ingest:push", person_data=False))
) -> dict[str, Any]:
    records = body.get("records") if isinstance(body, dict) else body
    if not isinstance(records, list) or not records:
        raise HTTPException(422, "expected a non-empty JSON array of records (or {\"records\": [...]})")
    if len(records) > MAX_RECORDS:
        raise HTTPException(413, f"at most {MAX_RECORDS} records per batch")
    try:
        return push_records(get_settings(), dataset, records)
    except ZhijingError as exc:
        raise HTTPException(400 if "unknown dataset" in str(exc) else 503, str(exc)) from exc
