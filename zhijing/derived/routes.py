"""Derived, aggregate views for the console (no person-level data)."""

from __future__ import annotations

import gzip
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request, Response

from zhijing.access.guard import require
from zhijing.config import get_settings
from zhijing.derived import maplayers
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


@router.get("/map")
def map_manifest(ctx=Depends(require("catalog:read", person_data=False))) -> dict:
    """The map's reference layers now: their version (part of every layer file's address,
    so a file never changes under its address), the zoom levels and the city's bounds."""
    return maplayers.manifest(get_settings())


Version = Annotated[str, Path(pattern=r"^[0-9a-f]{20}$")]
Level = Annotated[int, Path(ge=0, le=22)]
Tile = Annotated[int, Path(ge=0, lt=2**22)]
CACHED = "private, max-age=31536000, immutable"  # static geometry of one version: kept in the officer's browser


def _layer_file(request: Request, version: str, *parts: str) -> Response:
    """A layer file, gzip-compressed when the browser accepts it, cached for a year under its
    versioned address; a browser asking again with its ETag gets a 304."""
    etag = f'"{version}-{"-".join(parts)}"'
    headers = {"Cache-Control": CACHED, "ETag": etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    body = maplayers.file(get_settings(), version, *parts)
    if body is None:
        raise HTTPException(404, "no such map layer version (the map reloads the current one)")
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/v/{version}/{layer}/{level}.json")
def layer_file(request: Request, version: Version, layer: Literal["station", "district", "road"], level: Level,
               ctx=Depends(require("catalog:read", person_data=False))) -> Response:  # fmt: skip
    """A whole layer (jurisdictions, districts; the main roads at the lowest level) simplified
    for one zoom level."""
    if level not in maplayers.LEVELS or (layer == maplayers.TILED and level != maplayers.LEVELS[0]):
        raise HTTPException(404, f"levels are {list(maplayers.LEVELS)} (streets whole at {maplayers.LEVELS[0]}, tiled above)")
    return _layer_file(request, version, layer, str(level))


@router.get("/v/{version}/road/{level}/{x}/{y}.json")
def road_tile(request: Request, version: Version, level: Level, x: Tile, y: Tile,
              ctx=Depends(require("catalog:read", person_data=False))) -> Response:  # fmt: skip
    """The streets of one map tile at one zoom level (an empty collection where there are none)."""
    if level not in maplayers.LEVELS[1:] or max(x, y) >= 2**level:
        raise HTTPException(404, f"street tiles are at levels {list(maplayers.LEVELS[1:])}, within 2^level")
    return _layer_file(request, version, "road", str(level), str(x), str(y))


def register(app: FastAPI) -> None:
    app.include_router(router)
