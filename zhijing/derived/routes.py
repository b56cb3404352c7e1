"""Derived, aggregate views for the console (no person-level data)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, FastAPI

from zhijing.access.guard import require
from zhijing.config import get_settings
from zhijing.derived.geo import incident_cells, reference_layer, stations_with_counts

router = APIRouter(prefix="/api/geo", tags=["gis"])


@router.get("/stations")
def stations(ctx=Depends(require("catalog:read", person_data=False))) -> dict:
    """Station jurisdictions (GeoJSON) with the number of 110 incidents in each."""
    return stations_with_counts(get_settings())


@router.get("/incidents")
def incidents(ctx=Depends(require("catalog:read", person_data=False))) -> dict:
    """110 incidents as counts per H3 cell, per category and per month (aggregates only)."""
    return incident_cells(get_settings())


@router.get("/layers/{role}")
def layer(role: Literal["district", "road"], ctx=Depends(require("catalog:read", person_data=False))) -> dict:
    """A reference layer of the map by geography role (GeoJSON): district outlines, or road
    segments with class and speed where the city has them."""
    return reference_layer(get_settings(), role)


def register(app: FastAPI) -> None:
    app.include_router(router)
