"""Subjects of an analysis: a person (master id), a vehicle (plate) or a phone, written
``person:PM…``, ``plate:浙B…``, ``phone:138…``; several of one kind, comma separated, are
one subject (a person known under several IDs). What an officer types bare — a citizen ID
number, a plate, a mobile number, a master id — is read as the subject it names
(:func:`interpret`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from zhijing.derived.workbench.keys import plate_key, plate_key_sql
from zhijing.derived.workbench.presence import cursor, source
from zhijing.errors import ZhijingError
from zhijing.lake.store import current_files
from zhijing.localtime import instant as read_time
from zhijing.standards import citizen_id, phone
from zhijing.standards import plate as plates

KINDS = ("person", "plate", "phone")
MAX_IDS = 20
SHAPE_ERROR = "subject must be person:<master id>, plate:<plate> or phone:<number>"
_MASTER = re.compile(r"^PM[0-9A-Z]{4,40}$")
_PLATE = re.compile(rf"^[{plates.PROVINCES}使][A-Z0-9]{{5,7}}[警学挂领港澳试超]?$")


@dataclass(frozen=True)
class Subject:
    kind: str
    ids: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kind}:{','.join(self.ids)}"


def parse(text: str | None) -> Subject:
    """``kind:id[,id…]`` → Subject; a clear error for anything else."""
    kind, _, rest = (text or "").strip().partition(":")
    ids = tuple(dict.fromkeys(i.strip() for i in rest.split(",") if i.strip()))
    if kind not in KINDS or not ids:
        raise ZhijingError(SHAPE_ERROR)
    if len(ids) > MAX_IDS:
        raise ZhijingError(f"at most {MAX_IDS} ids in one subject")
    if kind == "phone":
        ids = tuple(phone.normalize(i).value or i for i in ids)
    if kind == "plate":
        ids = tuple(i.upper().replace(" ", "") for i in ids)
    return Subject(kind, ids)


def bare_kind(text: str) -> tuple[str, str] | None:
    """What a bare entry names: ('citizen_id' | 'person' | 'phone' | 'plate', normalized), or None."""
    raw = (text or "").strip()
    if not raw or ":" in raw or "," in raw:
        return None
    if re.fullmatch(r"\d{17}[\dXx]|\d{15}", raw):  # a number with a wrong check character is still looked up
        return "citizen_id", citizen_id.normalize(raw).value or raw.upper()
    if _MASTER.match(raw.upper()):
        return "person", raw.upper()
    if (tel := phone.normalize(raw)).value:
        return "phone", tel.value
    cleaned = re.sub(r"[\s·.\-•・]", "", raw).upper()
    if _PLATE.match(cleaned):
        return "plate", cleaned
    return None


def holders(settings, number: str, con: duckdb.DuckDBPyConnection | None = None) -> list[str]:
    """The master persons holding a citizen ID number (most mentions first)."""
    files = current_files(settings, "entities", "persons_master")
    if not files:
        return []
    con = con or cursor()
    rows = con.execute(f"SELECT master_id FROM read_parquet({files!r}) WHERE citizen_id = $n ORDER BY mentions DESC, master_id",
                       {"n": number}).fetchall()  # fmt: skip
    return [r[0] for r in rows][:MAX_IDS]


def interpret(settings, text: str | None) -> Subject:
    """A subject as an officer types it: the prefixed forms, or a bare citizen ID number
    (the master persons holding it), master id, mobile number or plate."""
    found = bare_kind(text or "")
    if found is None:
        return parse(text)
    kind, value = found
    if kind == "citizen_id":
        ids = holders(settings, value)
        if not ids:
            raise ZhijingError("no person holds this citizen ID number")
        return Subject("person", tuple(ids))
    return Subject(kind, (value,))


def resolve(settings, subject: Subject, con: duckdb.DuckDBPyConnection | None = None) -> Subject:
    """A plate as read by OCR becomes the plate(s) the presence table knows under its key."""
    if subject.kind != "plate":
        return subject
    src = source(settings)
    if src is None:
        return subject
    con = con or cursor()
    keys = [plate_key(p) for p in subject.ids]
    found = [r[0] for r in con.execute(
        f"SELECT DISTINCT subject FROM {src} WHERE subject_kind = 'plate' AND {plate_key_sql('subject')} IN (SELECT unnest($k))",
        {"k": keys}).fetchall()]  # fmt: skip
    exact = [p for p in subject.ids if p in found]
    return Subject("plate", tuple(exact or found or subject.ids))


def districts(settings, master_ids: list[str], con: duckdb.DuckDBPyConnection | None = None) -> dict[str, str | None]:
    """master id → district of residence (what need to know places a person by)."""
    files = current_files(settings, "entities", "persons_master")
    if not files or not master_ids:
        return {}
    con = con or cursor()
    rows = con.execute(f"SELECT master_id, district FROM read_parquet({files!r}) WHERE master_id IN (SELECT unnest($ids))",
                       {"ids": list(master_ids)}).fetchall()  # fmt: skip
    return dict(rows)


def places(settings, master_ids: list[str]) -> dict[str, list[str | None]]:
    """Where need to know places each person: the serving store's places (station or
    district codes) when the platform has one, and the district of the person master."""
    from zhijing.errors import NotReady
    from zhijing.serving.person_file import places_of

    try:
        found = places_of(settings, list(master_ids))
    except NotReady:  # no store built yet: the masters' districts alone
        found = {}
    home = districts(settings, list(master_ids))
    return {m: [*found.get(m, []), home.get(m)] for m in master_ids}


def names(settings, master_ids: list[str], con: duckdb.DuckDBPyConnection | None = None) -> dict[str, dict]:
    """master id → {name, citizen_id, phone, district} for display (masked by the caller)."""
    files = current_files(settings, "entities", "persons_master")
    if not files or not master_ids:
        return {}
    con = con or cursor()
    df = con.execute(f"SELECT master_id, name, citizen_id, phone, district FROM read_parquet({files!r}) "
                     "WHERE master_id IN (SELECT unnest($ids))", {"ids": list(master_ids)}).df()  # fmt: skip
    return {r["master_id"]: r for r in df.to_dict(orient="records")}


def instant(text: str | None, what: str = "time") -> datetime | None:
    """An ISO time (the deployment's wall time when no zone is given), or None; a clear error otherwise."""
    try:
        return read_time(None if text is None else str(text).strip(), naive="local")
    except ValueError:
        raise ZhijingError(f"{what} must be an ISO time such as 2025-03-01T08:00") from None


def span(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    t0, t1 = instant(start, "start"), instant(end, "end")
    if t0 and t1 and t1 <= t0:
        raise ZhijingError("end must be after start")
    return t0, t1
