"""Reading and publishing lake datasets (docs/contracts.md §2).

Readers ask for the current version's files and never list folders: a version becomes
visible only when its manifest is committed, so a job that fails half-way leaves the last
good version in place. Writers stage their output under ``_staging``, rename it into the
dataset folder, then replace the manifest — in that order, under a per-dataset lock.
"""

from __future__ import annotations

import fcntl
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from zhijing.config import Settings
from zhijing.errors import ZhijingError
from zhijing.lake.manifest import FileEntry, Manifest, read_manifest, write_manifest
from zhijing.lake.zones import dataset_dir, staging_dir

Table = pa.Table | duckdb.DuckDBPyRelation | list[Path] | list[str]


def current_manifest(settings: Settings, zone: str, dataset: str) -> Manifest | None:
    return read_manifest(dataset_dir(settings, zone, dataset))


def current_files(settings: Settings, zone: str, dataset: str) -> list[str]:
    """Absolute paths of the Parquet files of the current version ([] if none yet)."""
    folder = dataset_dir(settings, zone, dataset)
    manifest = read_manifest(folder)
    return [str(folder / f.path) for f in manifest.files] if manifest else []


def read_duckdb(
    con: duckdb.DuckDBPyConnection, settings: Settings, zone: str, dataset: str
) -> duckdb.DuckDBPyRelation | None:
    """A DuckDB relation over the current version (hive partition columns included), or
    None when the dataset has no version yet."""
    files = current_files(settings, zone, dataset)
    if not files:
        return None
    return con.read_parquet(files, hive_partitioning=True, union_by_name=True)


def new_version_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]


@contextmanager
def dataset_lock(settings: Settings, zone: str, dataset: str) -> Iterator[Path]:
    """Serialise publishers of one dataset (HTTP pushes may arrive concurrently)."""
    folder = dataset_dir(settings, zone, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_staged(settings: Settings, table: Table, partition_by: list[str] | None) -> tuple[Path, list[Path]]:
    """Put ``table`` as Parquet files in a staging folder; return (root, files)."""
    if isinstance(table, list):
        files = [Path(p) for p in table]
        if not files:
            return staging_dir(settings, "publish"), []
        root = Path(*Path(files[0]).parts[: len(Path(files[0]).parts) - 1])
        while root.name.count("=") == 1:  # hive partition folder: its parent is the root
            root = root.parent
        return root, files
    root = staging_dir(settings, "publish")
    if isinstance(table, pa.Table):
        if partition_by:
            pads.write_dataset(
                table, root, format="parquet", partitioning=partition_by, partitioning_flavor="hive",
                existing_data_behavior="overwrite_or_ignore",
            )
        else:
            pq.write_table(table, root / "part-0.parquet")
    else:
        if partition_by:
            table.write_parquet(str(root), partition_by=partition_by, overwrite=True)
        else:
            table.write_parquet(str(root / "part-0.parquet"))
    files = sorted(p for p in root.rglob("*.parquet"))
    return root, files


def publish(
    settings: Settings,
    zone: str,
    dataset: str,
    table: Table,
    lineage: dict | None = None,
    *,
    mode: Literal["append", "replace"] = "append",
    key: str | None = None,
    partition_by: list[str] | None = None,
) -> Manifest:
    """Commit a new version of ``zone/dataset``.

    ``table`` is a pyarrow Table, a DuckDB relation, or a list of Parquet files already
    written under one staging folder (hive ``k=v`` sub-folders allowed). ``append`` keeps
    the previous version's files, except those published earlier with the same ``key``
    (so re-running an interrupted job replaces rather than duplicates); ``replace`` makes
    these files the whole version.
    """
    root, files = _write_staged(settings, table, partition_by)
    version = new_version_id()
    with dataset_lock(settings, zone, dataset) as folder:
        target = folder / f"v-{version}"
        if files:
            root.rename(target)
        elif root.exists():
            shutil.rmtree(root, ignore_errors=True)
        entries = [
            FileEntry(str((target / Path(f).relative_to(root)).relative_to(folder)), _rows(target / Path(f).relative_to(root)), key)
            for f in files
        ]
        previous = read_manifest(folder)
        kept: list[FileEntry] = []
        if previous and mode == "append":
            kept = [f for f in previous.files if key is None or f.key != key]
        manifest = Manifest(
            zone=zone,
            dataset=dataset,
            version=version,
            created_at=datetime.now(UTC).isoformat(),
            files=kept + entries,
            previous=previous.version if previous else None,
            lineage=lineage or {},
            partition_by=list(partition_by or (previous.partition_by if previous else [])),
        )
        write_manifest(folder, manifest)
    return manifest


def _rows(path: Path) -> int:
    try:
        return pq.read_metadata(path).num_rows
    except Exception as exc:  # a file that is not Parquet must never become visible
        raise ZhijingError(f"cannot publish {path.name}: not a readable Parquet file") from exc


def vacuum(settings: Settings, zone: str, dataset: str) -> list[Path]:
    """Delete version folders the current manifest no longer references (after a purge or
    a replace); returns what was removed."""
    removed: list[Path] = []
    with dataset_lock(settings, zone, dataset) as folder:
        manifest = read_manifest(folder)
        used = {Path(f.path).parts[0] for f in manifest.files} if manifest else set()
        for child in folder.glob("v-*"):
            if child.name not in used:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed


def clear_staging(settings: Settings, older_than_s: float = 6 * 3600) -> None:
    """Remove leftovers of interrupted jobs (never visible to readers); recent folders may
    belong to a job still running, so only old ones go."""
    import time

    cutoff = time.time() - older_than_s
    for child in (settings.lake_dir / "_staging").glob("*"):
        if child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)


def rewrite(
    settings: Settings, zone: str, dataset: str, con: duckdb.DuckDBPyConnection, keep: str, lineage: dict | None = None
) -> int:
    """Commit a version without the rows failing ``keep`` (a DuckDB predicate over one
    file's columns; ``con`` may hold tables it refers to). Untouched files stay as they
    are, rewritten ones keep their key and partition path; unreferenced files are then
    deleted (a purge must really remove data). Returns the number of rows removed."""
    removed = 0
    version = new_version_id()
    with dataset_lock(settings, zone, dataset) as folder:
        manifest = read_manifest(folder)
        if manifest is None:
            return 0
        stage = staging_dir(settings, "rewrite")
        entries: list[FileEntry] = []
        for entry in manifest.files:
            src = str(folder / entry.path)
            gone = con.execute(f"SELECT count(*) FROM read_parquet(?, hive_partitioning=false) AS t WHERE NOT ({keep})", [src]).fetchone()[0]
            if not gone:
                entries.append(entry)
                continue
            removed += gone
            rel = Path(*Path(entry.path).parts[1:])  # drop the old "v-..." folder
            out = stage / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT * FROM read_parquet(?, hive_partitioning=false) AS t WHERE {keep}) TO '{str(out).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)",
                [src],
            )
            entries.append(FileEntry(str(Path(f"v-{version}") / rel), entry.rows - gone, entry.key))
        if not removed:
            shutil.rmtree(stage, ignore_errors=True)
            return 0
        stage.rename(folder / f"v-{version}")
        write_manifest(folder, Manifest(
            zone=zone, dataset=dataset, version=version, created_at=datetime.now(UTC).isoformat(), files=entries,
            previous=manifest.version, lineage={**manifest.lineage, **(lineage or {})}, partition_by=manifest.partition_by,
        ))  # fmt: skip
        used = {Path(f.path).parts[0] for f in entries}
        for child in folder.glob("v-*"):
            if child.name not in used:
                shutil.rmtree(child, ignore_errors=True)
    return removed
