"""The manifest: the one small file that says which Parquet files make a dataset's
current version. Replacing it (write a temporary file, fsync, ``os.replace``) is the
atomic commit of a new version; every committed manifest is also kept under
``_versions/`` as history.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zhijing.lake.zones import MANIFEST


@dataclass
class FileEntry:
    path: str  # relative to the dataset folder
    rows: int
    key: str | None = None  # the input this file came from (content hash); appends replace by key


@dataclass
class Manifest:
    zone: str
    dataset: str
    version: str
    created_at: str
    files: list[FileEntry]
    previous: str | None = None
    lineage: dict = field(default_factory=dict)
    partition_by: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def keys(self) -> set[str]:
        return {f.key for f in self.files if f.key}

    def to_json(self) -> str:
        data = asdict(self)
        data["rows"] = self.rows
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data.pop("rows", None)
        data["files"] = [FileEntry(**f) for f in data["files"]]
        return cls(**data)


def read_manifest(folder: Path) -> Manifest | None:
    path = folder / MANIFEST
    if not path.exists():
        return None
    return Manifest.from_json(path.read_text(encoding="utf-8"))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Commit ``manifest`` as the current version of the dataset in ``folder``."""
    history = folder / "_versions"
    history.mkdir(parents=True, exist_ok=True)
    text = manifest.to_json()
    _atomic_write(history / f"{manifest.version}.json", text)
    _atomic_write(folder / MANIFEST, text)
