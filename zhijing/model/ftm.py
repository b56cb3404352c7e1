"""The model as FollowTheMoney entities (issue 19 item 6): master persons, the identifiers
of the model's entity types (accounts, vehicles, companies, ...) and model rows become FtM
entities that Aleph / OpenAleph and other FtM tools read. Which schema and property each
type, role and property becomes is declared in ``types.yaml`` (``ftm``, ``ftm_key``,
``ftm_map``), not here.

The builder knows nothing of access: the caller hands it a ``mask`` (value, data element →
what this caller may see) and says which persons the caller may see. Entity ids are digests
salted with a secret drawn per export, so an id never carries (or lets one guess) the
identifier behind it, and ids of two exports cannot be joined. Every entity carries its
provenance (``publisher``: the dataset; ``recordId``: the record) and the export's
watermark (``summary``), and is validated against its schema before it is written.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files
from zhijing.model import read
from zhijing.model.types import EventType, Model

Mask = Callable[[str, str, str | None], str]  # (value, data element, dataset or None) -> the value as the caller may see it
GENDER = {"男": "male", "女": "female", "M": "male", "F": "female", "1": "male", "2": "female"}
PERSON_ELEMENTS = {"name": "name", "idNumber": "citizen_id", "birthDate": "birth_date", "phone": "phone"}


def _ftm():
    from followthemoney import model

    return model


@dataclass
class Builder:
    """Collects the entities of one export; ``entities()`` returns them validated."""

    types: Model
    mask: Mask
    watermark: str
    tz: str = "Asia/Shanghai"
    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    _made: dict[str, Any] = field(default_factory=dict)
    _persons: dict[str, str] = field(default_factory=dict)  # master id -> entity id
    _from: str | None = None  # the dataset whose row is being written: its grades mask the values

    # ---- ids and entities -------------------------------------------------------------
    def _id(self, *parts: str) -> str:
        return "zj-" + hashlib.sha256("\x1f".join((self.salt, *parts)).encode("utf-8")).hexdigest()[:24]

    def _entity(self, schema: str, *key: str):
        eid = self._id(schema, *key)
        if eid not in self._made:
            e = _ftm().make_entity(schema)
            e.id = eid
            e.add("summary", self.watermark)
            self._made[eid] = e
        return self._made[eid]

    def _add(self, e, prop: str, value: Any, element: str | None = None) -> None:
        """Add ``value`` (masked as ``element``); a value its type refuses (a masked phone
        number or amount, say) is kept readable in the notes rather than lost or invalid."""
        if value is None or value == "":
            return
        text = str(value) if element is None else self._mask(str(value), element)
        p = e.schema.properties[prop]
        cleaned = p.type.clean(text, format="CN") if p.type.name == "phone" else text
        unreadable = p.type.name == "number" and p.type.to_number(cleaned) is None  # FtM's number type takes any text
        if cleaned is None or not p.type.validate(cleaned) or unreadable:
            note = "notes" if "notes" in e.schema.properties else "description"
            e.add(note, f"{p.name}: {text}")
            return
        e.add(prop, cleaned, cleaned=p.type.name == "phone")

    def _mask(self, value: str, element: str) -> str:
        return self.mask(value, element, self._from)

    # ---- entities of the model ----------------------------------------------------------
    def person(self, master: dict) -> str:
        """A master person (its master id, name, citizen ID, sex, birth date, phone, datasets)."""
        mid = str(master["master_id"])
        if mid in self._persons:
            return self._persons[mid]
        e = self._entity("Person", "person", mid)
        self._add(e, "name", master.get("name") or "-", "name")
        for prop, col in (("idNumber", "citizen_id"), ("birthDate", "birth_date"), ("phone", "phone")):
            for v in _values(master.get(col)):
                self._add(e, prop, v, PERSON_ELEMENTS[prop])
        if master.get("sex") in GENDER:
            e.add("gender", GENDER[master["sex"]])
        e.add("country", "cn")
        for ds in _values(master.get("datasets")):
            e.add("publisher", ds)
        e.add("keywords", f"master:{mid}")
        self._persons[mid] = e.id
        return e.id

    def thing(self, kind: str, key: str, name: str | None = None) -> str | None:
        """The entity of an identifier of ``kind`` (an account number, a plate, a USCC); None
        for a kind without an FtM schema (a phone number is a property of its holder)."""
        et = self.types.entities.get(kind)
        if et is None or not et.ftm or kind == "person":
            return None
        e = self._entity(et.ftm, kind, key)
        if et.ftm_key:
            self._add(e, et.ftm_key, key, et.key_element())
        if "name" in e.schema.properties and not e.has("name"):
            e.add("name", name or self._mask(key, et.key_element()))
        return e.id

    def _stub(self, schema, value: str, element: str) -> str:
        """An entity of ``schema`` named by a text value (a payer's name, a trip's origin)."""
        e = self._entity(schema.name, "stub", value)
        self._add(e, schema.caption[0] if schema.caption else "name", value, element)
        return e.id

    def _place(self, row: dict) -> str | None:
        if not row.get("place_name") and row.get("lon") is None:
            return None
        e = self._entity("Address", "place", str(row.get("place_kind")), str(row.get("place_id") or row.get("place_name")))
        self._add(e, "full", row.get("place_name") or row.get("place_id"), "address")
        if row.get("lon") is not None and row.get("lat") is not None:
            self._add(e, "longitude", row["lon"], "lon")
            self._add(e, "latitude", row["lat"], "lat")
        return e.id

    # ---- events -----------------------------------------------------------------------
    def event(self, type_name: str, row: dict, record_id: str, persons: dict[str, str]) -> str | None:
        """One model row as its FtM schema (``ftm`` of its type, an Event without one or when
        it misses a required property); ``persons`` maps the row's person mentions to the
        master ids the caller may see (other persons are left out)."""
        ev = self.types.event(type_name)
        schema = _ftm().get(ev.ftm or "Event")
        if schema is None or schema.abstract:
            raise ZhijingError(f"model type {type_name}: {ev.ftm!r} is not a FollowTheMoney schema")
        self._from = str(row["dataset"])
        made = self._event(schema, ev, ev.ftm_map, type_name, row, record_id, persons)
        missing = [p for p in schema.required if not made.has(p)]
        if missing and schema.name != "Event":
            self._made.pop(made.id)
            for k in [k for k, x in self._made.items() if x.schema.name == "UnknownLink" and made.id in x.get("object")]:
                self._made.pop(k)
            made = self._event(_ftm().get("Event"), ev, {}, type_name, row, record_id, persons)
        self._from = None
        return made.id

    def _event(self, schema, ev: EventType, ftm_map: dict[str, str], type_name: str, row: dict, record_id: str,
               persons: dict[str, str]):  # fmt: skip
        e = self._entity(schema.name, "event", type_name, str(row["dataset"]), str(row["record_id"]))
        e.add("publisher", str(row["dataset"]))
        e.add("recordId", record_id)
        start, end = _local(row.get("ts"), self.tz), _local(row.get("ts_end"), self.tz)
        if ev.time == "interval" and "startDate" in schema.properties:
            e.add("startDate", start)
            e.add("endDate", end)
        else:
            e.add("date", start)
        place = self._place(row) if ev.place != "none" and "addressEntity" in schema.properties else None
        if place:
            e.add("addressEntity", place)
        notes: list[str] = []
        refs: dict[str, str | None] = {}
        for role, kind in ev.roles.items():  # first every role's entity, then what refers to them
            value = row.get(role)
            if value in (None, ""):
                continue
            if kind == "person":
                master = persons.get(str(value))
                if master is None or master not in self._persons:
                    continue  # a person the caller may not see, or not resolved
                refs[role] = self._persons[master]
            else:
                refs[role] = self.thing(kind, str(value))
        for role, ref in refs.items():
            self._role(e, role, ev.roles[role], str(row[role]), ref, ftm_map.get(role), refs, notes)
        for prop, element in ev.properties.items():
            value = row.get(prop)
            if value in (None, ""):
                continue
            target = ftm_map.get(prop)
            p = schema.properties.get(target) if target else None
            if p is not None and p.type.name == "entity":
                e.add(target, self._stub(p.range, str(value), element))
            elif p is not None:
                self._add(e, target, value, element)
            else:
                notes.append(f"{prop}: {self._mask(str(value), element)}")
        if notes:
            e.add("description", "; ".join(notes))
        if "name" in schema.properties and not e.has("name"):
            e.add("name", ev.label)
        return e

    def _role(self, e, role: str, kind: str, value: str, ref: str | None, target: str | None,
              refs: dict[str, str | None], notes: list[str]) -> None:  # fmt: skip
        """One role of a row: an entity reference, a number, or (``role.property``) a
        property of the entity in another role (a phone number is its holder's ``phone``)."""
        element = self.types.entities[kind].key_element()
        schema = e.schema
        if target and "." in target:
            holder, prop = target.split(".", 1)
            if refs.get(holder) and prop in self._made[refs[holder]].schema.properties:
                self._add(self._made[refs[holder]], prop, value, element)
                return
            target = None
        if ref is None:  # a value without an entity of its own: a phone number
            prop = target or ("phoneMentioned" if kind == "phone" else None)
            if prop in schema.properties:
                self._add(e, prop, value, element)
            else:
                notes.append(f"{role}: {self._mask(value, element)}")
            return
        ent = self._made[ref]
        prop = target or ("involved" if "involved" in schema.properties else None)
        p = schema.properties.get(prop) if prop else None
        if p is not None and p.type.name == "entity" and ent.schema.is_a(p.range):
            e.add(prop, ref)
        elif schema.is_a("Thing"):  # an entity the schema has no property for: linked to the event
            link = self._entity("UnknownLink", "link", e.id, ref)
            link.add("subject", ref)
            link.add("object", e.id)
            link.add("role", role)
        else:
            notes.append(f"{role}: {ent.caption}")

    # ---- the result -------------------------------------------------------------------
    def entities(self) -> list[dict]:
        """Every entity as an FtM dict, each checked against its schema (values and required
        properties): an invalid one is a bug, never written."""
        out = []
        for e in self._made.values():
            data = e.to_dict()
            try:
                e.schema.validate(data)
            except Exception as exc:  # followthemoney's InvalidData
                raise ZhijingError(f"FtM entity of schema {e.schema.name} failed validation: {exc}") from None
            missing = [p for p in e.schema.required if not e.has(p)]
            if missing:
                raise ZhijingError(f"FtM entity of schema {e.schema.name} lacks {', '.join(missing)}")
            out.append(data)
        return out


def model_rows(settings, types: Model, records: Iterable[tuple[str, str]]) -> list[tuple[str, dict]]:
    """The model rows (of every type) of the given (dataset, record id) pairs."""
    wanted = pd.DataFrame(sorted(set(records)), columns=["dataset", "record_id"], dtype=object)
    out: list[tuple[str, dict]] = []
    if wanted.empty:
        return out
    with duckdb.connect() as con:
        con.register("wanted", wanted)
        for name in types.events:
            src = read.source(settings, name)
            if src is not None:
                df = con.execute(f"SELECT t.* FROM {src} t JOIN wanted w ON t.dataset = w.dataset AND t.record_id = w.record_id").df()
                out += [(name, {k: (None if _missing(v) else v) for k, v in r.items()}) for r in df.to_dict("records")]
    return out


def masters_of(settings, mentions: Iterable[str]) -> dict[str, str]:
    """Person mention id -> master id (the entity links)."""
    files = current_files(settings, "entities", "person_links")
    ids = sorted(set(mentions))
    if not files or not ids:
        return {}
    with duckdb.connect() as con:
        con.register("wanted", pd.DataFrame({"mention_id": ids}, dtype=object))
        q = f"SELECT l.mention_id, l.master_id FROM read_parquet({files!r}) l JOIN wanted USING (mention_id)"
        return dict(con.execute(q).fetchall())


def _missing(v: Any) -> bool:
    try:
        return v is None or (not isinstance(v, str | list | tuple) and v != v)
    except (TypeError, ValueError):
        return False


def _values(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list | tuple):
        return [str(x) for x in v if x not in (None, "")]
    return [str(v)] if str(v) else []


def _local(ts: Any, tz: str) -> str | None:
    """A model time as FtM writes a date: ISO, to the second, in the city's local time."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        if ts.tzinfo is not None:
            ts = ts.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        return ts.isoformat(timespec="seconds")
    return str(ts)[:19].replace(" ", "T")


def jsonl(entities: Iterable[dict]) -> str:
    """FtM's entity stream: one JSON object per line (``ftm`` tools and Aleph's importer read it)."""
    return "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entities)
