"""API for the console: catalog, quality, quarantine, and the departments' push endpoint.

Every route declares its access requirement with ``zhijing.access.guard.require``;
quarantine rows are raw person data, so that route needs a purpose.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query

from zhijing.access.guard import require
from zhijing.config import get_settings
from zhijing.governance import catalog, push, quarantine

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/catalog")
def list_catalog(ctx=Depends(require("catalog:read", person_data=False))) -> list[dict[str, Any]]:
    return catalog.list_entries(get_settings())


@router.get("/catalog/{name}")
def show_catalog(name: str, ctx=Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    entry = catalog.get(get_settings(), name)
    if entry is None:
        raise HTTPException(404, f"dataset {name!r} is not catalogued")
    return entry


@router.get("/catalog/{name}/quality")
def show_quality(name: str, ctx=Depends(require("catalog:read", person_data=False))) -> dict[str, Any]:
    settings = get_settings()
    if catalog.get(settings, name) is None:
        raise HTTPException(404, f"dataset {name!r} is not catalogued")
    return {"dataset": name, "history": catalog.quality_history(settings, name),
            "quarantine_reasons": quarantine.reason_counts(settings, name)}  # fmt: skip


@router.get("/quarantine/{name}")
def list_quarantine(
    name: str = Path(..., pattern=r"^[a-z][a-z0-9_]{0,63}$"), limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10**9), ctx=Depends(require("quarantine:read")),
) -> dict[str, Any]:  # fmt: skip
    settings = get_settings()
    if catalog.get(settings, name) is None:  # only a catalogued dataset names a folder of the lake
        raise HTTPException(404, f"dataset {name!r} is not catalogued")
    found = quarantine.rows(settings, name, limit, offset)
    ctx.audit("consult", [f"{name}:{r['_source_file']}:{r['_source_line']}" for r in found], query=f"quarantine {name}")
    grades = catalog.field_grades(settings, "quarantine")
    return {"dataset": name, "rows": [ctx.mask(r, grades) for r in found]}  # raw rows are sensitive: masked below clearance


def register(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(push.router)
