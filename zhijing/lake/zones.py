"""Where each zone and dataset lives under the lake root (DESIGN.md §3).

One folder per zone and dataset; every version is a sub-folder ``v-<version>``; the
``_manifest.json`` beside them names the current one. Staging folders live under the lake
root so that publishing is a same-filesystem rename.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from zhijing.config import Settings
from zhijing.errors import ZhijingError

ZONES = ("raw", "clean", "quarantine", "model", "entities", "derived")
MANIFEST = "_manifest.json"
STAGING = "_staging"


def check_zone(zone: str) -> str:
    if zone not in ZONES:
        raise ZhijingError(f"unknown lake zone {zone!r} (zones: {', '.join(ZONES)})")
    return zone


def dataset_dir(settings: Settings, zone: str, dataset: str) -> Path:
    """The folder of one dataset in one zone (not created)."""
    if not dataset or "/" in dataset or dataset.startswith((".", "_")):
        raise ZhijingError(f"invalid dataset name {dataset!r}")
    return settings.lake_dir / check_zone(zone) / dataset


def staging_dir(settings: Settings, label: str = "job") -> Path:
    """A fresh, empty folder for a job's unfinished output (invisible to readers)."""
    path = settings.lake_dir / STAGING / f"{label}-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path
