"""What the services read about a person named by citizen ID: the serving store's master
person (name, sex, birth date, phone, district), its household and vehicles, and whether a
death was registered (the change log). One connection per call, nothing shared."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import sqlalchemy as sa

from zhijing.serving import store
from zhijing.serving.tables import person_extras, person_keys, persons
from zhijing.sharing.changes import deceased

CHUNK = 500
# built once (a statement is immutable): one ID's lookup costs its execution, not its construction
_BY_ID = (sa.select(person_keys.c.value.label("key"), persons).join(persons, persons.c.master_id == person_keys.c.master_id)
          .where(person_keys.c.kind == "citizen_id"))  # fmt: skip
_ONE = _BY_ID.where(person_keys.c.value == sa.bindparam("v"))


def normal(value: Any) -> str:
    """A stated value as compared: NFKC (full-width digits and letters), no spaces, upper case."""
    return unicodedata.normalize("NFKC", str(value)).replace(" ", "").replace("\u3000", "").strip().upper()


def by_citizen_id(settings, citizen_ids: list[str], extras: bool = False) -> dict[str, dict]:
    """citizen ID → the person's facts (``master_id``, name, sex, birth_date, phone, district,
    and with ``extras`` household and vehicles; ``living``). Where dirty records gave one ID
    to several masters, the master whose own ID it is wins, then the one with most records."""
    ids = sorted(set(citizen_ids))
    out: dict[str, dict] = {}
    with store.connect(settings) as conn:
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i:i + CHUNK]
            found = (conn.execute(_ONE, {"v": chunk[0]}) if len(chunk) == 1 else
                     conn.execute(_BY_ID.where(person_keys.c.value.in_(chunk))))  # fmt: skip
            for r in found.mappings():
                have = out.get(r["key"])
                rank = (r["citizen_id"] == r["key"], r["mentions"] or 0)
                if have is None or rank > (have["citizen_id"] == r["key"], have["mentions"] or 0):
                    out[r["key"]] = {k: r[k] for k in ("master_id", "name", "citizen_id", "sex", "birth_date", "phone", "district",
                                                       "mentions")}  # fmt: skip
        if extras and out:
            mids = {p["master_id"]: p for p in out.values()}
            for r in conn.execute(sa.select(person_extras).where(person_extras.c.master_id.in_(list(mids)))).mappings():
                mids[r["master_id"]]["household"] = r["household"]
                mids[r["master_id"]]["vehicles"] = json.loads(r["vehicles"]) if r["vehicles"] else []
    dead = deceased(settings, list(out))
    for key, p in out.items():
        p["living"] = key not in dead
        if extras:
            p.setdefault("household", None)
            p.setdefault("vehicles", [])
    return out
