"""Ingest: land every source of a city into the raw zone, then clean what is new.

Per dataset, in an order that makes any interruption resumable:

1. each new input (by content hash) is landed and published to ``raw`` under its hash;
2. the raw files no clean version has consumed yet ("pending") go through the clean job;
3. quarantine is published, then clean — the clean manifest, which records the raw keys
   it consumed, is the commit point; a rerun after a crash redoes only step 2-3 with the
   same batch key, so appends replace instead of duplicating;
4. the ingest, its inputs (the ledger) and the quality scores are recorded in the catalog.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from zhijing.config import Settings
from zhijing.errors import ZhijingError
from zhijing.governance import catalog, quality
from zhijing.governance.engines import make_engine
from zhijing.governance.engines.base import Engine
from zhijing.governance.jobs import JobParams, partition_column, run_clean
from zhijing.lake.store import clear_staging, current_files, current_manifest, publish
from zhijing.lake.zones import staging_dir
from zhijing.sources.connectors.base import DEFAULT_LINE_CAP, Landed, sha256_file
from zhijing.sources.connectors.reference import land_reference
from zhijing.sources.connectors.registry import discover
from zhijing.sources.spec import DatasetSpec, load_spec


@dataclass
class DatasetSummary:
    dataset: str
    status: str = "ok"  # ok | unchanged | failed
    rows_in: int = 0
    clean: int = 0
    quarantined: int = 0
    duplicates: int = 0
    quality: float | None = None
    new_inputs: int = 0
    known_inputs: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    files: list[dict[str, Any]] = field(default_factory=list)  # per source file: rows in, clean, quarantined, duplicates

    @property
    def balanced(self) -> bool:
        """The accounting identity: rows in = clean + quarantined + duplicates."""
        return self.rows_in == self.clean + self.quarantined + self.duplicates


def new_ingest_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def _publish_raw(settings: Settings, spec_name: str, landed: Landed, connector: str) -> None:
    folder = landed.files[0].parent
    for extra in folder.iterdir():  # sanitized copies and scratch files are not lake data
        if extra.suffix != ".parquet":
            extra.unlink()
    lineage = {"connector": connector, "origin": landed.origin, "sha256": landed.sha256, "rows": landed.rows,
               "unparsable": landed.errors, "notes": landed.notes}  # fmt: skip
    publish(settings, "raw", spec_name, landed.files, lineage=lineage, key=landed.sha256)


def _pending_raw(settings: Settings, dataset: str) -> tuple[list[str], list[str], dict[str, Any]]:
    """(raw files not yet cleaned, their keys, current clean lineage)."""
    raw = current_manifest(settings, "raw", dataset)
    clean = current_manifest(settings, "clean", dataset)
    done = set(clean.lineage.get("raw_keys", [])) if clean else set()
    if raw is None:
        return [], [], clean.lineage if clean else {}
    folder = settings.lake_dir / "raw" / dataset
    pending = [f for f in raw.files if f.key not in done]
    return [str(folder / f.path) for f in pending], sorted({f.key for f in pending}), clean.lineage if clean else {}


def clean_pending(
    settings: Settings, spec: DatasetSpec, engine: Engine, summary: DatasetSummary, inputs: list[dict[str, Any]],
    today: date | None = None,
) -> DatasetSummary:  # fmt: skip
    """Run the clean job over pending raw files and commit its outputs."""
    started = datetime.now(UTC)
    files, keys, lineage = _pending_raw(settings, spec.name)
    if not files:
        summary.status = "unchanged" if summary.status == "ok" else summary.status
        return summary
    ingest_id = new_ingest_id()
    batch_key = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    prior = [f for f in current_files(settings, "clean", spec.name)]
    params = JobParams(ingest_id, int(started.timestamp() * 1_000_000), today or date.today(), settings.timezone)
    out = staging_dir(settings, f"clean-{spec.name}")
    try:
        result = run_clean(engine, spec, files, prior, params, out)
        summary.files = file_accounts(spec.name, result.by_file, inputs)  # before anything is published
        raw_version = current_manifest(settings, "raw", spec.name).version
        job_lineage = {
            "job": result.job_version, "engine": engine.name, "ingest_id": ingest_id,
            "inputs": [{"zone": "raw", "dataset": spec.name, "version": raw_version, "keys": keys}],
        }  # fmt: skip
        publish(settings, "quarantine", spec.name, result.quarantine_files, lineage=job_lineage, key=batch_key)
        part = partition_column(spec)
        publish(
            settings, "clean", spec.name, result.clean_files, key=batch_key, partition_by=[part] if part else None,
            lineage=job_lineage | {"raw_keys": sorted(set(lineage.get("raw_keys", [])) | set(keys))},
        )  # fmt: skip
    finally:
        shutil.rmtree(out, ignore_errors=True)
    c = result.counts
    summary.rows_in += c["rows_in"]
    summary.clean += c["clean"]
    summary.quarantined += c["quarantined"]
    summary.duplicates += c["duplicates"]
    summary.reasons = result.reasons
    if not summary.balanced:  # cannot happen by construction; never let it pass silently
        raise ZhijingError(f"{spec.name}: accounting identity violated ({c})")
    catalog.record_ingest(settings, catalog.IngestRecord(
        ingest_id, spec.name, engine.name, result.job_version, started, "ok", c, result.reasons, inputs))  # fmt: skip
    clean_rows = (current_manifest(settings, "clean", spec.name) or _Empty()).rows
    q_rows = (current_manifest(settings, "quarantine", spec.name) or _Empty()).rows
    scores = quality.measure(settings, spec, clean_rows, q_rows)
    catalog.record_quality(settings, spec.name, ingest_id, scores)
    summary.quality = scores["score"]
    return summary


class _Empty:
    rows = 0


def file_accounts(dataset: str, by_file: dict[str, dict[str, int]], inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per source file: the rows its connector read against what the clean job made of them
    (clean + quarantined + duplicates). A file whose rows do not add up fails the run."""
    landed = {i["origin"]: i["rows"] for i in inputs if i.get("rows") is not None}
    out = []
    for origin in sorted(set(by_file) | set(landed)):
        c = by_file.get(origin, {"clean": 0, "quarantined": 0, "duplicates": 0})
        made = c["clean"] + c["quarantined"] + c["duplicates"]
        rows_in = landed.get(origin, made)
        out.append({"origin": origin, "rows_in": rows_in, **c, "balanced": rows_in == made})
    bad = [f for f in out if not f["balanced"]]
    if bad:
        f = bad[0]
        raise ZhijingError(f"{dataset}: {f['origin']}: rows in {f['rows_in']:,} ≠ clean {f['clean']:,} + quarantined "
                           f"{f['quarantined']:,} + duplicates {f['duplicates']:,}")  # fmt: skip
    return out


def ingest_dataset(
    settings: Settings, spec: DatasetSpec, sources_dir: Path, engine: Engine, *, line_cap: int = DEFAULT_LINE_CAP,
    broker: Any = None, today: date | None = None,
) -> DatasetSummary:  # fmt: skip
    """Land the new inputs of one dataset and clean them; errors become a failed summary."""
    t0 = time.perf_counter()
    summary = DatasetSummary(spec.name)
    catalog.register_spec(settings, spec)
    inputs: list[dict[str, Any]] = []
    try:
        if spec.format == "stream":
            inputs = _land_stream(settings, spec, sources_dir, line_cap, broker, summary)
        else:
            inputs = _land_files(settings, spec, sources_dir, line_cap, summary)
        clean_pending(settings, spec, engine, summary, inputs, today)
    except ZhijingError as exc:
        summary.status, summary.error = "failed", str(exc)
        catalog.record_ingest(settings, catalog.IngestRecord(
            new_ingest_id(), spec.name, engine.name, None, datetime.now(UTC), "failed", {}, {}, inputs, str(exc)))  # fmt: skip
    summary.seconds = time.perf_counter() - t0
    return summary


def _land_files(settings: Settings, spec: DatasetSpec, sources_dir: Path, line_cap: int, summary: DatasetSummary) -> list[dict]:
    inputs = []
    for inp in discover(spec, sources_dir, line_cap):
        if inp.sha256 and catalog.known_source(settings, spec.name, inp.sha256):
            summary.known_inputs += 1
            continue
        work = staging_dir(settings, f"land-{spec.name}")
        try:
            landed = inp.land(work / "raw.parquet")
            if catalog.known_source(settings, spec.name, landed.sha256):
                summary.known_inputs += 1
                continue
            _publish_raw(settings, spec.name, landed, spec.format)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        summary.new_inputs += 1
        inputs.append({"origin": landed.origin, "sha256": landed.sha256, "size": landed.size, "rows": landed.rows})
    return inputs


async def _open_broker(settings: Settings, broker: Any) -> tuple[Any, bool]:
    from zhijing.sources.connectors.stream import MemoryBroker, NatsBroker

    if broker is not None:
        return broker, False
    if settings.stream == "nats":
        return await NatsBroker(settings.nats.url, settings.nats.stream).connect(), True
    return MemoryBroker(), True


async def _drain(settings: Settings, spec: DatasetSpec, broker: Any) -> None:
    """Consume the dataset's subject into the raw zone, batch by batch."""
    from zhijing.sources.connectors.stream import consume

    work = staging_dir(settings, f"stream-{spec.name}")
    try:
        await consume(broker, spec.subject or f"sensors.{spec.name}", f"zhijing-{spec.name}", spec.name,
                      spec.field_names, work,
                      lambda landed: _publish_raw(settings, spec.name, _own_folder(settings, landed), "stream"))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def consume_stream(settings: Settings, spec: DatasetSpec, broker: Any, summary: DatasetSummary) -> None:
    """Drain what the broker holds for ``spec`` into the raw zone (no replay)."""

    async def run() -> None:
        b, own = await _open_broker(settings, broker)
        try:
            await _drain(settings, spec, b)
        finally:
            if own:
                await b.close()

    asyncio.run(run())


def _land_stream(
    settings: Settings, spec: DatasetSpec, sources_dir: Path, line_cap: int, broker: Any, summary: DatasetSummary
) -> list[dict]:
    """Replay the dataset's JSONL through the broker, consuming into the raw zone."""
    from zhijing.sources.connectors.stream import replay_jsonl

    inputs = []
    subject = spec.subject or f"sensors.{spec.name}"

    async def run() -> None:
        b, own = await _open_broker(settings, broker)
        try:
            for inp in discover(spec, sources_dir, line_cap):
                if catalog.known_source(settings, spec.name, inp.sha256):
                    summary.known_inputs += 1
                    continue
                await replay_jsonl(b, inp.path, subject, inp.sha256, line_cap)
                summary.new_inputs += 1
                inputs.append({"origin": inp.origin, "sha256": inp.sha256, "size": inp.path.stat().st_size, "rows": None})
            await _drain(settings, spec, b)
        finally:
            if own:
                await b.close()

    asyncio.run(run())
    return inputs


def _own_folder(settings: Settings, landed: Landed) -> Landed:
    """Move a landed batch into its own staging folder (publish renames whole folders)."""
    folder = staging_dir(settings, "batch")
    moved = []
    for f in landed.files:
        target = folder / f.name
        shutil.move(str(f), target)
        moved.append(target)
    landed.files = moved
    return landed


def ingest_reference(settings: Settings, sources_dir: Path) -> list[DatasetSummary]:
    """Land reference data as-is into raw and clean (it needs no standardization)."""
    out = []
    for ref in load_spec(settings).reference:
        s = DatasetSummary(ref.name)
        path = ref.root(sources_dir) / ref.path
        catalog.register_spec(settings, ref)
        if not path.is_file():
            s.status = "missing"
            out.append(s)
            continue
        try:
            sha = sha256_file(path)
            if catalog.known_source(settings, ref.name, sha):
                s.status, s.known_inputs = "unchanged", 1
                out.append(s)
                continue
            work = staging_dir(settings, f"ref-{ref.name}")
            landed = land_reference(path, ref.path, ref.name, ref.format, ref.encoding, work / "data.parquet")
            lineage = {"connector": ref.format, "origin": ref.path, "sha256": sha}
            publish(settings, "raw", ref.name, landed.files, lineage=lineage, key=sha, mode="replace")
            table = pq.read_table(current_files(settings, "raw", ref.name)[0])
            publish(settings, "clean", ref.name, table, key=sha, mode="replace",
                    lineage={"job": "reference.as_is", "inputs": [{"zone": "raw", "dataset": ref.name}]})  # fmt: skip
            catalog.set_reference_fields(settings, ref.name, table.column_names)
            counts = {"rows_in": landed.rows, "clean": landed.rows, "quarantined": 0, "duplicates": 0}
            catalog.record_ingest(settings, catalog.IngestRecord(
                new_ingest_id(), ref.name, "duckdb", "reference.as_is", datetime.now(UTC), "ok", counts, {},
                [{"origin": ref.path, "sha256": sha, "size": path.stat().st_size, "rows": landed.rows}]))  # fmt: skip
            s.rows_in = s.clean = landed.rows
            s.new_inputs = 1
        except ZhijingError as exc:
            s.status, s.error = "failed", str(exc)
        out.append(s)
    return out


def _select(settings: Settings, city_sources: Path, datasets: list[str] | None) -> list[DatasetSpec]:
    """The datasets a run ingests: the named ones (an unknown name is an error listing the
    known ones), else every declared dataset whose sources folder exists."""
    every = load_spec(settings).datasets
    if datasets:
        known = {s.name for s in every}
        unknown = [d for d in datasets if d not in known]
        if unknown:
            raise ZhijingError(f"unknown dataset {', '.join(unknown)}; known datasets: {', '.join(sorted(known))}")
        specs = [s for s in every if s.name in datasets]
    else:
        specs = [s for s in every if s.root(city_sources).is_dir()]
    missing = sorted({str(s.root(city_sources)) for s in specs if not s.root(city_sources).is_dir()})
    if missing:
        raise ZhijingError(f"no sources folder at {missing[0]} (run `zhijing generate`, or `zhijing sources add FILE`)")
    if not specs:
        raise ZhijingError(f"nothing to ingest: no sources folder at {city_sources} and no declared source "
                           f"(`zhijing sources add FILE --name NAME`)")  # fmt: skip
    return specs


IGNORED_SUFFIXES = (".yaml", ".yml", ".md")  # declarations and their notes, not data


def undeclared_files(settings: Settings, city_sources: Path) -> list[str]:
    """Files in a sources folder that no declaration names (a department's new file must not
    be skipped without a word)."""
    spec = load_spec(settings)
    city_sources, home = city_sources.resolve(), settings.home.resolve()
    roots: dict[Path, list[str]] = {city_sources: [], home / "sources": []}  # one key per folder, even when both are one
    for r in spec.reference:  # a deployment's reference sits beside its declaration
        roots.setdefault(r.root(city_sources).resolve(), []).append(r.path)
    for d in spec.datasets:
        roots.setdefault(d.root(city_sources).resolve(), []).append(d.path)
    out = []
    for root, patterns in roots.items():
        if not root.is_dir():
            continue
        declared = {p.resolve() for pat in patterns for p in (root.glob(pat) if "*" in pat else [root / pat])}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if (not path.is_file() or any(part.startswith(".") for part in rel.parts) or path.suffix in IGNORED_SUFFIXES
                    or path.name.endswith(("-journal", "-wal", "-shm", "~")) or path.resolve() in declared):  # fmt: skip
                continue
            out.append(str(rel if root == city_sources else path.relative_to(home)))
    return out


def ingest_city(
    settings: Settings, sources_dir: Path | None = None, engine: str = "duckdb", progress: bool = True,
    datasets: list[str] | None = None, line_cap: int = DEFAULT_LINE_CAP, broker: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Ingest every declared source (the generated city's, from ``sources_dir``, and the
    deployment's, from ``<home>/sources``); returns ``{"datasets": [...], "totals": {...},
    "undeclared": [...]}`` (one row per dataset: status, rows in / clean / quarantined /
    duplicates, quality, and the same per source file)."""
    sources_dir = Path(sources_dir or settings.city_dir / "sources")
    specs = _select(settings, sources_dir, datasets)
    clear_staging(settings)
    summaries: list[DatasetSummary] = []
    eng = make_engine(engine, settings)
    try:
        with _progress(progress, len(specs) + 1) as advance:
            for spec in specs:
                advance(spec.name)
                summaries.append(ingest_dataset(settings, spec, spec.root(sources_dir), eng, line_cap=line_cap, broker=broker))
            if datasets is None and sources_dir.is_dir():
                advance("reference")
                summaries.extend(ingest_reference(settings, sources_dir))
            advance(None)
    finally:
        eng.close()
    rows = [asdict(s) | {"balanced": s.balanced} for s in summaries]
    totals = {k: sum(r[k] for r in rows) for k in ("rows_in", "clean", "quarantined", "duplicates")}
    totals["failed"] = sum(r["status"] == "failed" for r in rows)
    undeclared = undeclared_files(settings, sources_dir) if datasets is None else []
    totals["undeclared"] = len(undeclared)
    return {"datasets": rows, "totals": totals, "engine": engine, "sources": str(sources_dir), "undeclared": undeclared}


class _progress:
    """A rich progress bar over datasets (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self.bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]ingest[/bold] {task.description:<22}"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())  # fmt: skip
            self.bar.start()
            self.task = self.bar.add_task("", total=self.total)
        started = [False]

        def advance(name: str | None) -> None:
            if self.bar is None:
                return
            if started[0]:
                self.bar.advance(self.task)
            started[0] = True
            self.bar.update(self.task, description=name or "done")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


_PUSH_LOCKS: dict[str, threading.Lock] = {}


def ingest_lines(settings: Settings, spec: DatasetSpec, lines: list[str], origin: str, sha256: str) -> dict[str, Any]:
    """Land JSON records pushed by a department and clean them at once (embedded engine)."""
    from zhijing.sources.connectors.stream import Message, land_messages

    summary = DatasetSummary(spec.name)
    catalog.register_spec(settings, spec)
    with _PUSH_LOCKS.setdefault(spec.name, threading.Lock()):
        if catalog.known_source(settings, spec.name, sha256):
            summary.status, summary.known_inputs = "unchanged", 1
            return asdict(summary)
        work = staging_dir(settings, f"push-{spec.name}")
        msgs = [Message(i + 1, line.encode("utf-8"), lambda: None) for i, line in enumerate(lines)]
        landed = land_messages(msgs, origin, spec.name, spec.field_names, work / "raw.parquet")
        landed.sha256 = sha256
        _publish_raw(settings, spec.name, landed, "http_push")
        summary.new_inputs = 1
        inputs = [{"origin": origin, "sha256": sha256, "size": sum(map(len, lines)), "rows": len(lines)}]
        with make_engine("duckdb", settings) as eng:
            clean_pending(settings, spec, eng, summary, inputs)
    return asdict(summary) | {"balanced": summary.balanced}
