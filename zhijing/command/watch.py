"""Matching records against the watchlist as they arrive (智能布控).

Any event type of the model with a person, vehicle or phone role is matched (the roles' kinds
come from the model's types, never from a dataset or a column): a vehicle role by the plate as
read and by its OCR key (``keys.plate_key``: 浙B2B394 is read for 浙B28394), a phone role by the
normalised number, a person role by the identifiers the record itself carries for that person —
the citizen ID and phone of its ``persons`` role in the clean row — so a record that lands
before the next resolve hits its master's watch too (the master's IDs and phones come from the
serving store's ``person_keys``).

Two entry points:
- after a model build (``after_build``): the rows of each rebuilt ``type/dataset`` file that the
  file matched last time (``watch_marks``; else the previous version's file) did not hold;
- live (``Matcher.match_messages`` / ``consume``): a model row as published on ``cad.reads``, or
  a raw dataset row, cleaned by the dataset's clean job and mapped by its model mapping over an
  in-memory Arrow table in DuckDB (``model.build.select`` over ``clean_out``), before the lake
  has it.

A hit is written once per watch and record (``watch_hits``), with a ``watch.hit`` event on the
live bus (``emit``) in the same transaction, and audited under the watch's purpose.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from zhijing.access.audit import AuditEvent, append
from zhijing.access.masking import mask_value
from zhijing.command import store
from zhijing.command import watch_store as ws
from zhijing.derived.risk.units import station_at
from zhijing.derived.workbench.keys import plate_key, plate_key_sql
from zhijing.errors import ZhijingError
from zhijing.governance.engines.duckdb_engine import DuckDBEngine
from zhijing.governance.jobs import CleanJob, JobParams, address_lookup
from zhijing.lake.manifest import Manifest, read_manifest
from zhijing.lake.store import current_files
from zhijing.lake.zones import dataset_dir
from zhijing.localtime import instant_or_none, shown
from zhijing.model import build as model_build
from zhijing.model import types as model_types
from zhijing.model.build import lit, q
from zhijing.serving import store as serving
from zhijing.serving.tables import person_keys, persons
from zhijing.sources.spec import DatasetSpec, load_spec
from zhijing.standards import phone as phones
from zhijing.standards import plate as plates

SUBJECT = "cad.reads"
IDLE_S = 0.01  # the live consumer's pause when the stream is empty
WATCHED_KINDS = {"person", "vehicle", "phone"}  # entity types of the model a role may hold that a watch names
Emit = Callable[..., None]  # emit(conn, kind, incident=None, unit=None, station=None, body={})


def normalise(settings, kind: str, value: str) -> tuple[str, str, str]:
    """(value, key, label) of a watch: the standard plate and its OCR key, the normalised phone,
    the master id (which must exist). The label is what screens show: never a full identifier."""
    value = (value or "").strip()
    if kind == "plate":
        p = plates.normalize(value)
        if not p.ok:
            raise ZhijingError("not a motor vehicle plate (号牌), e.g. 浙B12345")
        return p.value, plate_key(p.value), p.value
    if kind == "phone":
        p = phones.normalize(value)
        if not p.ok:
            raise ZhijingError("not a mainland mobile number")
        return p.value, p.value, mask_value(p.value, "phone")
    if kind == "person":
        with serving.connect(settings) as conn:
            row = conn.execute(sa.select(persons.c.name).where(persons.c.master_id == value)).first()
        if row is None:
            raise ZhijingError("no such person (一人一档 master id)")
        return value, value, f"{mask_value(row.name, 'name') if row.name else '人员'} {value}"
    raise ZhijingError(f"a watch is on a person, a plate or a phone, not {kind!r}")


@dataclass
class Index:
    """The active watches by the keys a record can carry."""

    watches: dict[int, dict] = field(default_factory=dict)
    plates: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    plate_keys: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    phones: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    ids: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    until: datetime | None = None  # the first expiry: the index is stale from then on

    @classmethod
    def of(cls, settings, watches: list[dict]) -> Index:
        idx = cls({w["id"]: w for w in watches})
        people: dict[str, list[int]] = defaultdict(list)
        for w in watches:
            if w["kind"] == "plate":
                idx.plates[w["value"]].append(w["id"])
                idx.plate_keys[w["key"]].append(w["id"])
            elif w["kind"] == "phone":
                idx.phones[w["key"]].append(w["id"])
            else:
                people[w["key"]].append(w["id"])
        if people:  # a person is watched by every ID and phone their records give them
            with serving.connect(settings) as conn:
                rows = conn.execute(sa.select(person_keys.c.value, person_keys.c.kind, person_keys.c.master_id)
                                    .where(person_keys.c.master_id.in_(list(people)), person_keys.c.kind.in_(("citizen_id", "phone"))))  # fmt: skip
                for value, kind, master in rows:
                    (idx.ids if kind == "citizen_id" else idx.phones)[value].extend(people[master])
        idx.until = min((ws.aware(w["expires_at"]) for w in watches), default=None)
        return idx

    def keys(self) -> list[str]:
        return [*self.plates, *self.plate_keys, *self.phones, *self.ids]

    def match(self, ev: model_types.EventType, row: dict) -> dict[int, tuple[str, str, str]]:
        """{watch id: (role, match, value as read)} for one model row (its first matching role per watch)."""
        out: dict[int, tuple[str, str, str]] = {}
        for role, kind in ev.roles.items():
            if kind == "vehicle" and (v := row.get(role)):
                p = _plate(v)
                for w in self.plates.get(p, ()):
                    out.setdefault(w, (role, "exact", p))
                for w in self.plate_keys.get(plate_key(p), ()):
                    out.setdefault(w, (role, "ocr", p))
            elif kind == "phone" and (v := row.get(role)):
                p = phones.normalize(v).value
                for w in self.phones.get(p, ()) if p else ():
                    out.setdefault(w, (role, "phone", p))
            elif kind == "person":
                cid, ph = row.get(f"{role}__citizen_id"), row.get(f"{role}__phone")
                for w in self.ids.get(str(cid), ()) if cid else ():
                    out.setdefault(w, (role, "citizen_id", cid))
                p = phones.normalize(ph).value if ph else None
                for w in self.phones.get(p, ()) if p else ():
                    out.setdefault(w, (role, "phone", p))
        return out


def _plate(value: str) -> str:
    return re.sub(r"[\s·.\-]", "", str(value)).upper()


def watched_types(model: model_types.Model) -> dict[str, model_types.EventType]:
    """The event types a watch can hit: those with a person, vehicle or phone role."""
    return {n: ev for n, ev in model.events.items() if WATCHED_KINDS & set(ev.roles.values())}


def person_fields(spec: DatasetSpec, type_name: str, ev: model_types.EventType, columns: set[str] | None = None) -> dict[str, dict[str, str]]:
    """{person role of the type: {citizen_id|phone: clean column}}: where a dataset's row keeps
    the identifiers of the person its mapping puts in each role (its ``persons`` declaration)."""
    out: dict[str, dict[str, str]] = {}
    for m in (m for m in spec.model if m.type == type_name):
        for role, ref in m.roles.items():
            pr = next((p for p in spec.persons if p.role == ref), None) if ev.roles.get(role) == "person" else None
            if pr is not None and role not in out:
                out[role] = {e: f for e, f in pr.element_fields().items() if e in ("citizen_id", "phone") and (columns is None or f in columns)}
    return out


def candidates_sql(ev: model_types.EventType, model_src: str, clean_src: str | None, fields: dict[str, dict[str, str]],
                   keyed: bool) -> str:  # fmt: skip
    """The model rows of ``model_src`` with each person role's identifiers from the clean row
    (``<role>__citizen_id``, ``<role>__phone``); ``keyed``: only rows carrying a key of the
    temp table ``watch_keys`` (the build path's first cut over many rows)."""
    ident = [f"CAST(c.{q(col)} AS VARCHAR) AS {q(role + '__' + e)}" for role, f in fields.items() for e, col in f.items()] if clean_src else []
    join = f" LEFT JOIN {clean_src} c ON c._record_id = t.record_id" if clean_src and ident else ""
    conds = []
    for role, kind in ev.roles.items():
        col = f"t.{q(role)}"
        if kind == "vehicle":
            conds += [f"{col} IN (SELECT k FROM watch_keys)", f"{plate_key_sql(col)} IN (SELECT k FROM watch_keys)"]
        elif kind == "phone":
            conds.append(f"{col} IN (SELECT k FROM watch_keys)")
    conds += [f"CAST(c.{q(col)} AS VARCHAR) IN (SELECT k FROM watch_keys)" for f in fields.values() for col in f.values()] if join else []
    where = f" WHERE {' OR '.join(conds)}" if keyed else ""
    if keyed and not conds:
        where = " WHERE false"
    return f"SELECT t.*{''.join(', ' + i for i in ident)} FROM ({model_src}) t{join}{where}"


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class Matcher:
    """Matches records against the active watches; one per consumer or job (it holds a DuckDB
    connection of its own and caches the index, the place tables and the datasets' specs)."""

    def __init__(self, settings, emit: Emit | None = None) -> None:
        self.settings, self.emit = settings, emit
        self.model = model_types.load(settings)
        self.types = watched_types(self.model)
        self.spec = load_spec(settings)
        self.specs = {d.name: d for d in self.spec.datasets}
        self._index: Index | None = None
        self._generation: tuple | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._places: dict | None = None
        self._stations: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    # -- the index of active watches ---------------------------------------------------------
    def index(self) -> Index:
        """The active watches, rebuilt when one is placed, approved or revoked, or expires."""
        gen = ws.generation(self.settings)
        idx = self._index
        if idx is None or gen != self._generation or (idx.until is not None and idx.until <= ws.now()):
            ws.sweep(self.settings)
            self._index, self._generation = Index.of(self.settings, ws.active(self.settings)), ws.generation(self.settings)
        return self._index

    def warm(self) -> Matcher:
        """Build the index and the place tables now, before the first record waits for them."""
        self.index()
        self.places()
        return self

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect()
            DuckDBEngine(self._con)  # the clean job's macros, UTC
        return self._con

    def places(self) -> dict:
        if self._places is None:
            self._places = model_build.place_tables(self.con, self.settings, self.spec)
        return self._places

    def station(self, kind: str | None, code: str | None) -> str | None:
        """The station (8 digits) of a place of the declared place sources, when it has one (a
        row from the stream that does not say its place's kind: the first kind that knows the code)."""
        kinds = [kind] if kind else list(self.places())
        for k in (k for k in kinds if code and k in self.places()):
            if k not in self._stations:
                self._stations[k] = {c: s for c, s in self.con.execute(f"SELECT code, station FROM {q('place_' + k)}").fetchall() if s}
            if found := self._stations[k].get(str(code)):
                return found
        return None

    # -- matching ------------------------------------------------------------------------------
    def match_rows(self, type_name: str, rows: Iterable[dict], via: str) -> list[dict]:
        """Match model rows of one type (dicts with the type's columns and person identifiers);
        write, emit and audit the new hits; return them."""
        ev = self.types.get(type_name)
        idx = self.index()
        if ev is None or not idx.watches:
            return []
        found = []
        at = ws.now()
        for row in rows:
            for wid, (role, how, value) in idx.match(ev, row).items():
                found.append(self._hit(idx.watches[wid], type_name, row, role, how, value, via, at))
        return self._write(found, idx)

    def _hit(self, w: dict, type_name: str, row: dict, role: str, how: str, value: str, via: str, at: datetime) -> dict:
        ts = _instant(row.get("ts"))
        lon, lat = _number(row.get("lon")), _number(row.get("lat"))
        station = self.station(row.get("place_kind"), row.get("place_id"))
        if station is None and lon is not None and lat is not None:  # a place of no gazetteer: the jurisdiction it lies in
            station = (station_at(self.settings, lon, lat) or "")[:8] or None
        return {"watch": w["id"], "at": at, "type": type_name, "dataset": str(row.get("dataset") or ""), "record": str(row.get("record_id") or ""),
                "role": role, "match": how, "time": ts, "lon": lon, "lat": lat,
                "place": row.get("place_name") or row.get("place_id"), "station": station,
                "via": via, "detail": json.dumps({"place_kind": row.get("place_kind"), "place_id": row.get("place_id"),
                                                  "read": value if how in ("exact", "ocr") else None}, ensure_ascii=False)}  # fmt: skip

    def _write(self, found: list[dict], idx: Index) -> list[dict]:
        if not found:
            return []

        def on_new(conn, h: dict) -> None:
            if self.emit is not None:
                self.emit(conn, "watch.hit", station=h["station"], body=event_body(h, idx.watches[h["watch"]]))

        new = ws.add_hits(self.settings, found, on_new)
        by_purpose: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for h in new:
            w = idx.watches[h["watch"]]
            by_purpose[(w["purpose"], w["unit"])].append(h)
        for (purpose, unit), hs in by_purpose.items():  # matching is processing under the watches' purpose: audited
            records = [*dict.fromkeys(f"watch:{h['watch']}" for h in hs), *(f"{h['dataset']}|{h['record']}" for h in hs)]
            append(AuditEvent(actor="system:watch", unit=unit, operation="combine", outcome="allowed", purpose=purpose,
                              records=records, query=f"watch hits ×{len(hs)}"), self.settings)  # fmt: skip
        return new

    # -- after a model build ---------------------------------------------------------------
    def match_built(self, rebuilt: list[str] | None = None) -> list[dict]:
        """Match the new rows of the model files rebuilt (``BuildReport.rebuilt``; None: every
        watched type's files) and remember how far each was matched."""
        keys = rebuilt if rebuilt is not None else [f"{t}/{f.key}" for t in self.types for f in _files(self.settings, t)]
        new = []
        for key in keys:
            type_name, ds = key.split("/", 1)
            if type_name not in self.types:
                continue
            current = _file_of(self.settings, type_name, ds)
            if current is None:
                continue
            before = ws.mark(self.settings, key) or _previous_file(self.settings, type_name, ds, current)
            if before != current and (before is None or Path(before).exists()):
                new += self._match_fresh(type_name, ds, current, before)
            ws.set_mark(self.settings, key, current)
        return new

    def _match_fresh(self, type_name: str, ds: str, current: str, before: str | None) -> list[dict]:
        idx = self.index()
        if not idx.watches:
            return []
        ev, spec = self.types[type_name], self.specs.get(ds)
        fresh = f"SELECT * FROM read_parquet({lit(current)})"
        if before:
            fresh += f" WHERE record_id NOT IN (SELECT record_id FROM read_parquet({lit(before)}))"
        clean = current_files(self.settings, "clean", ds) if spec else []
        fields = person_fields(spec, type_name, ev) if spec and clean else {}
        clean_src = f"read_parquet({clean!r}, union_by_name=true)" if fields else None
        with self._lock:
            self.con.register("watch_keys", pa.table({"k": pa.array(idx.keys(), pa.string())}))
            rows = _records(self.con, candidates_sql(ev, fresh, clean_src, fields, keyed=True))
        return self.match_rows(type_name, rows, "build")

    # -- live: the stream ------------------------------------------------------------------
    def match_messages(self, messages: list[dict], via: str = "stream") -> list[dict]:
        """Match a batch from the stream: model rows (``{"type": ..., <columns>}``) and raw
        dataset rows (``{"dataset": name, "row": {field: text}}``)."""
        by_type: dict[str, list[dict]] = defaultdict(list)
        raw: dict[str, list[dict]] = defaultdict(list)
        for m in messages:
            if isinstance(m.get("row"), dict) and m.get("dataset") in self.specs:
                raw[m["dataset"]].append(m["row"])
            elif m.get("type") in self.types:
                by_type[m["type"]].append(_model_row(m))
        for ds, rows in raw.items():
            for type_name, mapped in self.mapped(ds, rows).items():
                by_type[type_name] += mapped
        return [h for t, rows in by_type.items() for h in self.match_rows(t, rows, via)]

    def mapped(self, dataset: str, rows: list[dict]) -> dict[str, list[dict]]:
        """Raw rows of ``dataset`` cleaned by its clean job and mapped by its model mappings, in
        memory: {type: model rows with the person roles' identifiers}."""
        spec = self.specs[dataset]
        types = [m.type for m in spec.model if m.type in self.types]
        if not types or not rows:
            return {}
        n = len(rows)
        table = pa.table({**{f: pa.array([None if r.get(f) is None else str(r[f]) for r in rows], pa.string()) for f in spec.field_names},
                          "_source_file": pa.array([f"stream:{SUBJECT}"] * n, pa.string()), "_source_line": pa.array(range(1, n + 1), pa.int64()),
                          "_source_hash": pa.array([None] * n, pa.string()), "_error": pa.array([None] * n, pa.string()),
                          "_raw": pa.array([None] * n, pa.string())})  # fmt: skip
        now = datetime.now(UTC)
        job = CleanJob(spec, JobParams("stream", int(now.timestamp() * 1_000_000), date.today(), self.settings.timezone))
        out: dict[str, list[dict]] = defaultdict(list)
        with self._lock:
            eng = _Engine(self.con)
            eng.register_arrow("raw_batch", table)
            eng.register_arrow("prior_hashes", pa.table({"_row_hash": pa.array([], pa.string())}))
            eng.register_arrow("addr_lookup", address_lookup(eng, job.address_fields))
            for name, sql in job.steps():
                (eng.materialize if name == "classified" else eng.create_view)(name, sql)
            places = self.places()
            cols = {r[0] for r in self.con.execute("DESCRIBE clean_out").fetchall()}
            for m in spec.model:
                ev = self.types.get(m.type)
                if ev is None:
                    continue
                sql = model_build.select(self.settings, spec, m, ev, places, self.specs, self.settings.timezone, rows="clean_out")
                fields = person_fields(spec, m.type, ev, cols)
                out[m.type] += _records(self.con, candidates_sql(ev, sql, "clean_out", fields, keyed=False))
        return out


def _instant(value) -> datetime | None:
    """An aware instant (localtime.instant)."""
    return instant_or_none(value)


def _number(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


def _model_row(m: dict) -> dict:
    """A model row from the stream, in the lake's column names (intake's replay says ``record``
    and ``time`` for ``record_id`` and ``ts``)."""
    return {**m, "record_id": m.get("record_id") or m.get("record"), "ts": m.get("ts") or m.get("time")}


class _Engine(DuckDBEngine):
    """The clean job's engine over the matcher's own connection (its macros made once)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con


def event_body(h: dict, w: dict) -> dict:
    """The ``watch.hit`` event's body: what the screens show (no full identifier: a plate, the
    watch's label, the master id)."""
    return {"hit": h["id"], "watch": w["id"], "kind": w["kind"], "label": w["label"], "match": h["match"], "type": h["type"],
            "dataset": h["dataset"], "record": h["record"], "time": shown(h["time"]), "lon": h["lon"], "lat": h["lat"],
            "place": h["place"], "unit": w["unit"], "purpose": w["purpose"]}  # fmt: skip


# -- the model zone's files and their history ----------------------------------------------
def _files(settings, type_name: str):
    m = read_manifest(dataset_dir(settings, "model", type_name))
    return [f for f in m.files if f.key] if m else []


def _file_of(settings, type_name: str, ds: str) -> str | None:
    folder = dataset_dir(settings, "model", type_name)
    m = read_manifest(folder)
    entry = next((f for f in m.files if f.key == ds), None) if m else None
    return str(folder / entry.path) if entry else None


def _previous_file(settings, type_name: str, ds: str, current: str) -> str | None:
    """The file of ``ds`` in ``model/<type>`` before ``current`` replaced it (the manifest
    history), None when ``current`` is its first."""
    folder = dataset_dir(settings, "model", type_name)
    m = read_manifest(folder)
    version = m.previous if m else None
    while version:
        path = folder / "_versions" / f"{version}.json"
        if not path.exists():
            return None
        old = Manifest.from_json(path.read_text(encoding="utf-8"))
        entry = next((f for f in old.files if f.key == ds), None)
        if entry is None:
            return None
        if str(folder / entry.path) != current:
            return str(folder / entry.path)
        version = old.previous
    return None


def bus(settings) -> Emit:
    """The live bus's writer of ``watch.hit`` events (``cad_events`` of the command store): its
    tables made first, since the event is written in the hit's own transaction."""
    store.engine(settings)
    return store.emit


def after_build(settings, rebuilt: list[str] | None = None, emit: Emit | None = None) -> list[dict]:
    """The build path's hook (``zhijing ingest``, ``zhijing stream consume``): match what the
    model build just added."""
    return Matcher(settings, emit or bus(settings)).match_built(rebuilt)


def build_and_match(settings) -> tuple[model_build.BuildReport, list[dict]]:
    """Bring the model up to date with the clean zone, then match what it added: (the build's
    report, the new hits). ``zhijing ingest``, ``stream consume`` and the server's clock (what
    departments push over HTTP lands in the clean zone only) run it."""
    report = model_build.build(settings)
    return report, after_build(settings, report.rebuilt)


async def consume(settings, broker, subject: str = SUBJECT, stop: threading.Event | None = None, emit: Emit | None = None,
                  batch: int = 2000, timeout: float = 0.2, on_hits: Callable[[list[dict]], None] | None = None,
                  matcher: Matcher | None = None, durable: str = "zhijing-watch") -> int:  # fmt: skip
    """Match what arrives on ``subject`` until ``stop`` is set (or, without one, until the
    subject is drained); returns the hits written (``on_hits`` gets each batch's, once they are
    committed). On JetStream a new durable consumer starts at what is published from now on
    (records as they arrive, not the stream's history). A message that is not JSON is
    acknowledged and skipped (the lake's ingest keeps and flags bad input, not the watch)."""
    from zhijing.command.replay import ensure_consumer  # deferred: intake's classifier is a heavy import

    await ensure_consumer(broker, durable, subject)
    matcher, total = matcher or await asyncio.to_thread(lambda: Matcher(settings, emit or bus(settings)).warm()), 0
    while stop is None or not stop.is_set():
        msgs = await broker.fetch(subject, durable, batch, timeout)
        if not msgs:
            if stop is None:
                return total
            await asyncio.sleep(IDLE_S)  # an in-process broker answers at once: yield to the publisher
            continue
        parsed = []
        for m in msgs:
            try:
                obj = json.loads(m.data)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(obj, dict):
                parsed.append(obj)
        found = await asyncio.to_thread(matcher.match_messages, parsed)
        total += len(found)
        if on_hits is not None and found:
            on_hits(found)
        for m in msgs:
            if asyncio.iscoroutine(r := m.ack()):
                await r
    return total
