"""The source registry: which datasets arrive, how, and what each field means.

The registry is the packaged example (``city_sources.yaml``, the generated city's
departments) merged with the deployment's own declarations (``$ZHIJING_HOME/sources/*.yaml``,
see ``declarations.py``). It is the contract between department systems and the platform's
connectors and governance jobs; every job reads it through ``load_spec``. Its shapes live in
``schema.py``, below ``declarations.py``, and are named here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zhijing.sources import declarations
from zhijing.sources.schema import (
    LINE_KEY,
    LONLAT_PARTS,
    PERSON_ELEMENTS,
    SPEC_FILE,
    CitySpec,
    DatasetSpec,
    Element,
    FieldSpec,
    ModelMapping,
    PersonRole,
    PlaceRef,
    PlaceSource,
    ReferenceSpec,
    packaged_spec,
    registry_part,
)

__all__ = ["CitySpec", "DatasetSpec", "Element", "FieldSpec", "LINE_KEY", "LONLAT_PARTS", "ModelMapping", "PERSON_ELEMENTS",
           "PersonRole", "PlaceRef", "PlaceSource", "ReferenceSpec", "SPEC_FILE", "packaged_spec", "registry_part", "load_spec"]  # fmt: skip


def load_spec(settings: Any = None) -> CitySpec:
    """The packaged registry merged with the deployment's declarations under
    ``<home>/sources`` (re-read when a declaration file changes)."""
    if settings is None:
        from zhijing.config import get_settings

        settings = get_settings()
    return declarations.merged(Path(settings.home) / "sources", getattr(settings, "city_registry", True))
