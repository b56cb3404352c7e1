"""A small generated city shared by every test suite (generated once per seed and folder)."""

from __future__ import annotations

from pathlib import Path

from zhijing.sources.generate.city import generate_city

SMALL = 10_000


def small_city(tmp_root: Path, seed: int = 11, persons: int = SMALL) -> Path:
    """Path of a generated city under ``tmp_root`` (reused if already there)."""
    out = Path(tmp_root) / f"city-{seed}-{persons}"
    if not (out / "truth" / "manifest.json").exists():
        generate_city(out, persons=persons, seed=seed, progress=False, force=True)
    return out
