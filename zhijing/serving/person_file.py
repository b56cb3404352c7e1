"""One person, one file (一人一档), read from the serving store: every linked record with
its source, a timeline, household, phones, vehicles and companies — each fact with its
provenance (dataset, record, first and last seen), FollowTheMoney-statement style.

Every function takes the settings and opens its own connection: nothing here is shared
between requests.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from zhijing.localtime import shown
from zhijing.serving import store
from zhijing.serving.tables import person_extras, person_keys, person_places, person_records, persons
from zhijing.sources.spec import load_spec

FACT_ELEMENTS = ("name", "citizen_id", "phone", "address_district", "sex")
SEARCH_FIELDS = (persons.c.master_id, persons.c.name, persons.c.citizen_id, persons.c.sex, persons.c.birth_date,
                 persons.c.phone, persons.c.district, persons.c.mentions.label("records"))  # fmt: skip
_PHONE = re.compile(r"^(?:\+?86|0086)?(1\d{10})$")


def _key_values(q: str) -> list[str]:
    """The forms a typed identifier takes in the store: upper-case IDs and plates, bare phones."""
    values = {q, q.upper()}
    m = _PHONE.match(q.replace(" ", "").replace("-", ""))
    if m:
        values.add(m.group(1))
    return sorted(values)


def search(settings, q: str, limit: int = 20) -> list[dict]:
    """Masters whose ID, phone, plate or a name any record gives them equals ``q``, then
    masters whose name starts with ``q``; each with the places that locate them. ``q`` is
    text, never a pattern: a name prefix is an index range, no LIKE wildcards."""
    q = q.strip()
    if not q:
        return []
    with store.connect(settings) as conn:
        exact = sa.select(person_keys.c.master_id).where(person_keys.c.value.in_(_key_values(q))).distinct()
        hits = conn.execute(sa.select(*SEARCH_FIELDS).where(persons.c.master_id.in_(exact))
                            .order_by(persons.c.mentions.desc(), persons.c.master_id).limit(limit)).mappings().all()  # fmt: skip
        rows = [dict(r) for r in hits]
        if len(rows) < limit:
            seen = {r["master_id"] for r in rows}
            prefix = conn.execute(sa.select(*SEARCH_FIELDS).where(persons.c.name >= q, persons.c.name < q + "\U0010ffff")
                                  .order_by(persons.c.mentions.desc(), persons.c.master_id).limit(limit)).mappings().all()  # fmt: skip
            rows += [dict(r) for r in prefix if r["master_id"] not in seen][: limit - len(rows)]
        places = _places(conn, [r["master_id"] for r in rows])
    for r in rows:
        r["places"] = places.get(r["master_id"], [])
    return rows


def persons_by_id(settings, master_ids: list[str]) -> dict[str, dict]:
    """The search row of each master person asked for (with its places)."""
    with store.connect(settings) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(*SEARCH_FIELDS).where(persons.c.master_id.in_(master_ids[:5000]))).mappings()]
        places = _places(conn, [r["master_id"] for r in rows])
    return {r["master_id"]: {**r, "places": places.get(r["master_id"], [])} for r in rows}


def _places(conn: sa.Connection, master_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for chunk in range(0, len(master_ids), 500):
        ids = master_ids[chunk:chunk + 500]
        for mid, place in conn.execute(sa.select(person_places.c.master_id, person_places.c.place)
                                       .where(person_places.c.master_id.in_(ids)).order_by(person_places.c.place)):  # fmt: skip
            out[mid].append(place)
    return out


def places_of(settings, master_ids: list[str]) -> dict[str, list[str]]:
    """Every place (station or district code) the lake knows each person by — need to know."""
    with store.connect(settings) as conn:
        return _places(conn, master_ids)


def facts(rows: list[dict]) -> dict[str, list[dict]]:
    """Each element's distinct values, with how many records state it, where and when (first
    and last seen in the deployment's zone)."""
    out = {}
    for element in FACT_ELEMENTS:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            if r[element] is not None:
                groups[r[element]].append(r)
        vals = []
        for value, g in groups.items():
            seen = [r["seen_at"] for r in g if r["seen_at"]]
            vals.append({"value": value, "sources": len(g), "datasets": sorted({r["dataset"] for r in g}),
                         "first_seen": shown(min(seen, default=None)), "last_seen": shown(max(seen, default=None)),
                         "record": f"{g[0]['dataset']}:{g[0]['record_id']}"})  # fmt: skip
        out[element] = sorted(vals, key=lambda v: -v["sources"])
    return out


def _relations(master_id: str, label: str, phones: list[str], extra: dict[str, Any]) -> dict:
    nodes = [{"id": master_id, "label": label, "kind": "person"}]
    links = []
    linked = [("phone", "手机", p) for p in phones] + [("vehicle", "车辆", v) for v in extra["vehicles"]]
    linked += [("company", "企业", c) for c in extra["companies"]]
    linked += [("household", "户", extra["household"])] if extra["household"] else []
    for kind, title, value in linked:
        nodes.append({"id": f"{kind}:{value}", "label": value, "kind": kind})
        links.append({"source": master_id, "target": f"{kind}:{value}", "kind": title})
    return {"nodes": nodes, "links": links}


def person_file(settings, master_id: str) -> dict | None:
    """The whole file of one master person, or None if the store has no such person."""
    with store.connect(settings) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(person_records).where(person_records.c.master_id == master_id)
                                              .order_by(person_records.c.seen_at.asc().nulls_last(), person_records.c.mention_id)).mappings()]  # fmt: skip
        if not rows:
            return None
        ex = conn.execute(sa.select(person_extras).where(person_extras.c.master_id == master_id)).mappings().first()
        places = _places(conn, [master_id]).get(master_id, [])
    spec = load_spec(settings)
    extra = {"household": ex["household"] if ex else None,
             "vehicles": json.loads(ex["vehicles"]) if ex and ex["vehicles"] else [],
             "companies": json.loads(ex["companies"]) if ex and ex["companies"] else []}  # fmt: skip
    titles = {r["dataset"]: spec.dataset(r["dataset"]).title for r in rows}
    records, seen = [], set()
    for r in rows:
        if (r["dataset"], r["record_id"]) not in seen:
            seen.add((r["dataset"], r["record_id"]))
            records.append({"dataset": r["dataset"], "title": titles[r["dataset"]], "record_id": r["record_id"],
                            "summary": r["summary"] or ""})  # fmt: skip
    f = facts(rows)
    name = f["name"][0]["value"] if f["name"] else None
    phones = sorted({r["phone"] for r in rows if r["phone"]})
    timeline = [{"time": shown(r["seen_at"]), "dataset": r["dataset"], "record_id": r["record_id"], "summary": titles[r["dataset"]]}
                for r in rows if r["seen_at"]]  # fmt: skip
    return {"master_id": master_id, "name": name, "facts": f, "records": records, "timeline": timeline, **extra,
            "relations": _relations(master_id, name or master_id, phones, extra), "places": places,
            "mention_ids": [r["mention_id"] for r in rows]}  # fmt: skip


def mentions_placed(settings, mention_ids: list[str]) -> list[dict]:
    """Mentions with their master and the master's places — what need to know and the
    review screen show of each side of a pair."""
    if not mention_ids:
        return []
    cols = [person_records.c[c] for c in ("mention_id", "dataset", "record_id", "role", "name", "citizen_id", "phone", "master_id")]
    with store.connect(settings) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(*cols).where(person_records.c.mention_id.in_(mention_ids[:5000]))
                                              .order_by(person_records.c.master_id, person_records.c.mention_id)).mappings()]  # fmt: skip
        places = _places(conn, sorted({r["master_id"] for r in rows}))
    for r in rows:
        r["places"] = places.get(r["master_id"], [])
    return rows


def household_index(settings) -> dict[str, str]:
    """master_id -> household number (户号), for the relatives oversight rule."""
    if not store.exists(settings):
        return {}
    with store.connect(settings) as conn:
        return dict(conn.execute(sa.select(person_extras.c.master_id, person_extras.c.household)
                                 .where(person_extras.c.household.is_not(None))).all())  # fmt: skip
