"""HTTP push: departments POST JSON batches to ``/api/ingest/push/{dataset}``.

A batch is a JSON array of objects (or ``{"records": [...]}``). It is landed like a
JSON-lines file — each record one "line" — content-hashed (a repeated batch is a no-op),
published to the raw zone and cleaned at once, on the embedded engine. A department pushes
only the datasets it holds a grant for (``zhijing access grant-push``), and every push —
refused or not — is audited as a ``collect`` naming the dataset and the pushed record keys.
(A connector that lands and cleans: it lives with the ingest job it calls, docs/layers.md.)
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException

from zhijing.access.guard import AccessContext, require
from zhijing.config import Settings, get_settings
from zhijing.errors import ZhijingError
from zhijing.governance.ingest import ingest_lines
from zhijing.sources.spec import load_spec

router = APIRouter(prefix="/api/ingest", tags=["ingest"])
MAX_RECORDS = 100_000


def record_keys(dataset: str, key: str, records: list[Any]) -> list[str]:
    """``dataset:key`` of each pushed record (``dataset:#n`` when a record has no key)."""
    out = []
    for n, r in enumerate(records, 1):
        k = r.get(key) if isinstance(r, dict) else None
        out.append(f"{dataset}:{k}" if isinstance(k, (str, int)) and str(k) else f"{dataset}:#{n}")
    return out


def push_records(settings: Settings, dataset: str, records: list[Any]) -> dict[str, Any]:
    """Land and clean one pushed batch; returns the dataset summary."""
    try:
        spec = load_spec().dataset(dataset)
    except KeyError as exc:
        raise ZhijingError(f"unknown dataset {dataset!r}") from exc
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records]
    sha = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
    return ingest_lines(settings, spec, lines, origin=f"push:{sha[:16]}", sha256=sha)


@router.post("/push/{dataset}")
def push(
    dataset: str, body: Any = Body(...),
    ctx: AccessContext = Depends(require("ingest:push", person_data=False, audited=True, target="dataset")),
) -> dict[str, Any]:
    records = body.get("records") if isinstance(body, dict) else body
    if not isinstance(records, list) or not records:
        raise HTTPException(422, "expected a non-empty JSON array of records (or {\"records\": [...]})")
    if len(records) > MAX_RECORDS:
        raise HTTPException(413, f"at most {MAX_RECORDS} records per batch")
    try:
        key = load_spec().dataset(dataset).key
    except KeyError:
        raise HTTPException(400, f"unknown dataset {dataset!r}") from None
    ctx.audit("collect", record_keys(dataset, key, records), query=f"push {dataset}: {len(records)} records")
    try:
        return push_records(get_settings(), dataset, records)
    except ZhijingError as exc:
        raise HTTPException(400 if "unknown dataset" in str(exc) else 503, str(exc)) from exc
