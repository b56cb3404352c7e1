"""What a service ticket opens (DESIGN.md §2.2–2.4): the persons it names, and of them only
the fields its service needs. A 户籍证明 (household certificate) needs who the person is and
their household registration — not their hotel stays, trips, accounts or relations.

A ticket's service is its purpose's ``topic``; a ticket naming no known service opens the
identity facts alone (fail closed: a deployment's own services are added here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Service:
    title: str
    facts: tuple[str, ...]  # person-file facts shown
    datasets: tuple[str, ...]  # records (and timeline entries) shown, by dataset
    relations: tuple[str, ...] = ()  # relation kinds shown (household, phone, vehicle, company)


IDENTITY = Service("身份核验", ("name", "citizen_id", "sex"), ())
SERVICES = {
    "hukou_certificate": Service("户籍证明", ("name", "citizen_id", "sex", "birth_date", "address_district"), ("hukou_person",),
                                 ("household",)),
    "health_handoff": Service("密接名单移交", ("name", "phone", "address_district"), ()),
}


def service(topic: str | None) -> Service:
    return SERVICES.get(topic or "", IDENTITY)


FILE_RELATIONS = {"household": "household", "vehicles": "vehicle", "companies": "company"}  # file key → relation kind


def restricted(file: dict[str, Any], topic: str | None) -> dict[str, Any]:
    """A (masked) person file cut to what the ticket's service needs: its facts (their
    provenance only from its datasets), its datasets' records and timeline, its relations."""
    s = service(topic)

    def fact(v: dict) -> dict:
        mine = [d for d in v["datasets"] if d in s.datasets]
        return {**v, "datasets": mine, **({} if mine else {"record": "", "first_seen": None, "last_seen": None})}

    nodes = [n for n in file["relations"]["nodes"] if n["kind"] == "person" or n["kind"] in s.relations]
    kept = {n["id"] for n in nodes}
    relations = {**file["relations"], "nodes": nodes,
                 "links": [x for x in file["relations"]["links"] if x["source"] in kept and x["target"] in kept]}  # fmt: skip
    cut = {k: None if k == "household" else [] for k, kind in FILE_RELATIONS.items() if k in file and kind not in s.relations}
    return {**file, **cut, "relations": relations, "service": s.title,
            "facts": {k: [fact(v) for v in vals] for k, vals in file["facts"].items() if k in s.facts},
            "records": [r for r in file["records"] if r["dataset"] in s.datasets],
            "timeline": [e for e in file["timeline"] if e["dataset"] in s.datasets]}  # fmt: skip


ROW_FACTS = {"district": "address_district"}  # a search row's column → the fact it shows


def restricted_row(row: dict[str, Any], topic: str | None) -> dict[str, Any]:
    """A person search row cut to what the ticket's service needs (its id always)."""
    s = service(topic)
    return {k: v for k, v in row.items() if k == "master_id" or ROW_FACTS.get(k, k) in s.facts}
