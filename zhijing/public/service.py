"""The citizens' flows: identity (the verification service, then a one-time code to the
registered phone), the no-criminal-record and household certificates, the traffic lookup,
lost-and-found reports — each answer the citizen's own data only, each audited as a
disclosure under the standing public-service purpose.

The rule of the no-criminal-record certificate: the platform issues it at once when no
criminal case names the citizen a suspect; otherwise the request waits for an officer of the
citizen's station, who issues or refuses it in the police console. The citizen is told
"under review" or "refused: ask at your station", never the reason, which stays internal.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import jieba
import sqlalchemy as sa
from rapidfuzz import fuzz

from zhijing.access import models, seed, throttle
from zhijing.access.audit import AuditEvent, append
from zhijing.access.masking import mask_value
from zhijing.errors import AccessDenied, Conflict, NotFound, ZhijingError
from zhijing.localtime import shown, zone
from zhijing.public import pdf, records, signing, store
from zhijing.serving import store as serving
from zhijing.serving.tables import person_places
from zhijing.sharing.lookup import by_citizen_id
from zhijing.sharing.verify import verify_identity

PURPOSE = "ticket:GOV-PUBLIC"  # the standing purpose every disclosure to a citizen is audited under
ACTOR = "public-service"
STATION_TIER = "派出所"
NOT_CONFIRMED = "identity not confirmed: name, citizen ID and phone must match the registration"
NO_VEHICLE = "no vehicle matches this plate and engine number"
NUMBER_PREFIX = {"no_record": "WF", "hukou": "HJ"}
RELATIONS = {"02": "户主", "10": "配偶", "20": "子", "30": "女", "50": "父母", "99": "其他"}  # GB/T 4761 (as the registry writes it)
STATEMENTS = {
    "no_record": ("经查询全国公安机关违法犯罪人员信息，截至{issued}，未发现{name}（公民身份号码 {masked}）有犯罪记录。",
                  "A search of the police records found no criminal record of {name} (citizen ID {masked}) as of {issued}."),
    "hukou": ("兹证明{name}（公民身份号码 {masked}）户籍登记于{address}，户号{household}，与户主关系：{relation}。",
              "This certifies that {name} (citizen ID {masked}) is registered in household {household} at {address}."),
}  # fmt: skip


def station_purpose(station: str) -> str:
    """A station's standing purpose for the citizens' requests it handles."""
    return f"ticket:GOV-{station}"


def audit(settings, actor: str, what: str, outcome: str, client: str | None, records_: list[str],
          reason: str | None = None) -> None:  # fmt: skip
    append(AuditEvent(actor=actor, operation="disclose" if outcome == "allowed" else "consult", outcome=outcome, purpose=PURPOSE,
                      records=records_, query=what, client=client, reason=reason), settings)  # fmt: skip


def _guard(settings, key: str, client: str | None) -> None:
    """Refuse while the key (a citizen ID, a plate) or the client is locked out by failures."""
    if wait := throttle.locked_for(settings, key, client):
        raise AccessDenied(f"too many failed attempts: try again in {wait // 60 + 1} minutes")


def identify(settings, name: str, citizen_id: str, phone: str, client: str | None) -> tuple[str, str | None]:
    """(challenge id, the code when SMS is simulated) for a name, ID and phone that the
    verification service confirms; wrong ones count as failures (lockout as for logins)."""
    key = f"gov:{citizen_id.strip().upper()[:18]}"
    _guard(settings, key, client)
    result = verify_identity(settings, name, citizen_id, actor=ACTOR, phone=phone)
    person = by_citizen_id(settings, [citizen_id.strip().upper()]).get(citizen_id.strip().upper()) if result.match else None
    if person is None:
        throttle.record_failure(settings, key, client)
        audit(settings, ACTOR, "identity", "refused", client, [], NOT_CONFIRMED)
        raise AccessDenied(NOT_CONFIRMED)
    challenge, code = store.new_challenge(settings, person["master_id"], person["name"], person["citizen_id"])
    return challenge, code if settings.public.simulate_sms else None  # a deployment's gateway sends it instead


def _actor(who: dict) -> str:
    return f"citizen:{who['master_id']}"


def _today() -> datetime:
    return datetime.now(zone())


def home_station(settings, master_id: str) -> str:
    """The station of the citizen's registered address (else of an address in their district,
    else the first station): the unit that reviews their requests."""
    with serving.connect(settings) as conn:
        places = dict(conn.execute(sa.select(person_places.c.via, person_places.c.place)
                                   .where(person_places.c.master_id == master_id)).all())  # fmt: skip
    with models.engine(settings).connect() as conn:
        stations = list(conn.execute(sa.select(models.units.c.code).where(models.units.c.tier == STATION_TIER)
                                     .order_by(models.units.c.code)).scalars())  # fmt: skip
    for prefix in [places.get("residence"), places.get("standard address"), *(p[:6] for p in places.values())]:
        if found := next((s for s in stations if prefix and s.startswith(prefix)), None):
            return found
    if not stations:
        raise ZhijingError("no police station is registered to handle the request")
    return stations[0]


def ensure_station_purpose(settings, station: str) -> None:
    """The station's standing purpose, its officers assigned (added when a request arrives)."""
    ref = station_purpose(station)
    with models.engine(settings).connect() as conn:
        officers = list(conn.execute(sa.select(models.users.c.username).where(
            models.users.c.unit_code == station, models.users.c.kind == "officer", models.users.c.active)).scalars())  # fmt: skip
        name = conn.execute(sa.select(models.units.c.name).where(models.units.c.code == station)).scalar() or station
        have = conn.execute(sa.select(models.purposes.c.ref).where(models.purposes.c.ref == ref)).first() is not None
        assigned = set(conn.execute(sa.select(models.assignments.c.username).where(models.assignments.c.ref == ref)).scalars())
    if not have or set(officers) - assigned:
        seed.add_purpose(settings, ref, f"{name} 为民服务受理", station, sorted(set(officers) | assigned), topic="public_service")


def _unit_name(settings, code: str) -> str:
    with models.engine(settings).connect() as conn:
        return conn.execute(sa.select(models.units.c.name).where(models.units.c.code == code)).scalar() or code


def issue(settings, request_id: int, who: dict, kind: str, station: str) -> str:
    """Sign and register the certificate of a request; its number."""
    person = by_citizen_id(settings, [who["citizen_id"]]).get(who["citizen_id"]) or {}
    now = _today()
    fields = {"kind": kind, "no": f"{NUMBER_PREFIX[kind]}{now:%Y%m%d}{request_id:06d}", "name": who["name"],
              "id": who["citizen_id"], "sex": person.get("sex") or "", "issued": now.date().isoformat(),
              "until": (now + timedelta(days=settings.public.certificate_days)).date().isoformat(), "by": _unit_name(settings, station)}  # fmt: skip
    if kind == "hukou":
        home = records.household(settings, who["master_id"])
        fields |= {"birth": person.get("birth_date") or "", "address": home.get("address") or "", "household": home.get("household") or "",
                   "relation": RELATIONS.get(str(home.get("relation") or ""), str(home.get("relation") or ""))}  # fmt: skip
    payload = signing.sign(settings, {**fields, "id": mask_value(who["citizen_id"], "citizen_id")}, fields)
    store.register(settings, fields["no"], request_id, who["master_id"], fields, payload)
    return fields["no"]


def statement(fields: dict) -> tuple[str, str]:
    values = {**fields, "masked": mask_value(fields["id"], "citizen_id")}
    return tuple(text.format_map(values) for text in STATEMENTS[fields["kind"]])  # type: ignore[return-value]


def request_certificate(settings, who: dict, kind: str, client: str | None) -> dict:
    """A certificate for the citizen: issued at once, or (no-record with a criminal case
    naming them) waiting for their station. The answer never says why."""
    station = home_station(settings, who["master_id"])
    if kind == "hukou" and not records.household(settings, who["master_id"]).get("household"):
        audit(settings, _actor(who), "certificate hukou", "refused", client, [who["master_id"]], "no household registration")
        raise NotFound("no household registration found in this city: ask at your station")
    cases = records.criminal_cases(settings, who["master_id"]) if kind == "no_record" else []
    if cases:
        rid = store.add_request(settings, kind, "review", who, station,
                                internal=f"刑事案件嫌疑人 named a suspect in criminal case {', '.join(cases[:5])}")  # fmt: skip
        ensure_station_purpose(settings, station)
        audit(settings, _actor(who), f"certificate {kind}: review", "allowed", client, [who["master_id"]])
        return {"request": rid, "status": "review"}
    rid = store.add_request(settings, kind, "issued", who, station)
    no = issue(settings, rid, who, kind, station)
    store.decide(settings, rid, "issued", "platform", None, no)
    audit(settings, _actor(who), f"certificate {kind}: issued {no}", "allowed", client, [who["master_id"]])
    return {"request": rid, "status": "issued", "certificate": no}


def traffic(settings, plate: str, engine: str, client: str | None) -> dict:
    """A vehicle's violations and accidents for whoever knows its plate and engine number."""
    key = f"gov-plate:{plate.strip().upper()[:10]}"
    _guard(settings, key, client)
    found = records.vehicle(settings, plate, engine)
    if found is None:
        throttle.record_failure(settings, key, client)
        audit(settings, ACTOR, "traffic lookup", "refused", client, [], NO_VEHICLE)
        raise NotFound(NO_VEHICLE)
    audit(settings, f"vehicle:{found['plate']}", "traffic lookup", "allowed", client, [f"vehicle:{found['plate']}"])
    return {"vehicle": {"plate": found["plate"], "brand": found["brand"]},
            "violations": records.violations(settings, found["plate"]), "accidents": records.accidents(settings, found["plate"])}  # fmt: skip


def stations(settings) -> list[dict]:
    with models.engine(settings).connect() as conn:
        rows = conn.execute(sa.select(models.units.c.code, models.units.c.name).where(models.units.c.tier == STATION_TIER)
                            .order_by(models.units.c.code)).all()  # fmt: skip
    return [{"code": c, "name": n} for c, n in rows]


def report(settings, who: dict, kind: str, station: str, detail: dict, client: str | None) -> int:
    """A lost (or found) property report, stored for the station the citizen chose."""
    if station not in {s["code"] for s in stations(settings)}:
        raise ZhijingError("unknown station")
    rid = store.add_request(settings, kind, "received", who, station, detail)
    ensure_station_purpose(settings, station)
    audit(settings, _actor(who), f"report {kind}", "allowed", client, [who["master_id"]])
    return rid


SHOWN_STATUS = {"issued": "已出具 issued", "review": "审核中 under review", "refused": "不予出具，请到派出所咨询 refused: ask at your station",
                "received": "已受理 received", "closed": "已办结 closed"}  # fmt: skip


def own(settings, who: dict, client: str | None) -> list[dict]:
    """The citizen's requests as they may see them: never the internal reason."""
    rows = store.own_requests(settings, who["master_id"])
    audit(settings, _actor(who), "own requests", "allowed", client, [who["master_id"]])
    return [{"id": r["id"], "kind": r["kind"], "status": r["status"], "shown": SHOWN_STATUS.get(r["status"], r["status"]),
             "created_at": shown(r["created_at"]), "certificate": r["certificate"]} for r in rows]  # fmt: skip


def pdf_of(settings, who: dict, no: str, client: str | None) -> bytes:
    """The PDF of one of the citizen's own certificates."""
    cert = store.certificate(settings, no, who["master_id"])
    audit(settings, _actor(who), f"certificate pdf {no}", "allowed", client, [who["master_id"]])
    return pdf.render(cert["fields"], cert["payload"], statement(cert["fields"]))


# The station's desk (the police console): the requests of the station its standing purpose names.
DECISIONS = {"issue": "issued", "refuse": "refused", "close": "closed"}


def desk_station(purpose: str | None) -> str:
    """The station a desk purpose (``ticket:GOV-<station>``) is for."""
    prefix = station_purpose("")
    if not purpose or not purpose.startswith(prefix) or purpose == PURPOSE:
        raise AccessDenied("choose the station's public-service purpose (ticket:GOV-<station>)")
    return purpose[len(prefix):]


OPPOSITE = {"lost": "found", "found": "lost"}
MATCH_SCORE = 90  # rapidfuzz token-set ratio of two items' words (黑色钱包 ~ 钱包（黑色）, not ~ 黑色背包)


def _words(text: str) -> str:
    return " ".join(w for w in jieba.lcut(text) if w.isalnum())


def alike(a: str, b: str) -> bool:
    """Two items described alike: the same words in any order, or one inside the other (身份证 ~ 居民身份证)."""
    a, b = a.strip(), b.strip()
    return bool(a and b) and (a in b or b in a or fuzz.token_set_ratio(_words(a), _words(b)) >= MATCH_SCORE)


def matches(settings, station: str, row: dict) -> list[int]:
    """Open reports of the other kind at the station whose item reads like this one's (a
    found wallet beside the lost wallets), for the officer to compare."""
    if row["kind"] not in OPPOSITE or row["status"] != "received":
        return []
    item = (json.loads(row["detail"] or "{}").get("item") or "").strip()
    others = [r for r in store.station_requests(settings, station, "received", 500) if r["kind"] == OPPOSITE[row["kind"]]]
    return [r["id"] for r in others if alike(item, json.loads(r["detail"] or "{}").get("item") or "")]


def desk(settings, station: str, status: str | None, limit: int) -> list[dict]:
    """The station's requests with who made them and, for an officer, why one needs review
    (a report: the reports of the other kind it may match)."""
    out = []
    for r in store.station_requests(settings, station, status, limit):
        out.append({"matches": matches(settings, station, r), "id": r["id"], "kind": r["kind"], "status": r["status"], "name": r["name"], "citizen_id": r["citizen_id"],
                    "master_id": r["master_id"], "created_at": shown(r["created_at"]), "detail": json.loads(r["detail"] or "null"),
                    "internal": r["internal"], "decided_by": r["decided_by"], "certificate": r["certificate"]})  # fmt: skip
    return out


def decide(settings, station: str, request_id: int, decision: str, by: str, note: str | None) -> dict:
    """An officer's decision on a request of their station: issue or refuse a certificate under
    review, close a report."""
    r = store.request(settings, request_id)
    if r["station"] != station:
        raise NotFound("no such request at this station")
    pending = {"issue": ("review",), "refuse": ("review",), "close": ("received",)}[decision]
    if r["status"] not in pending:
        raise Conflict(f"the request is {r['status']}: nothing to {decision}")
    no = issue(settings, request_id, r, r["kind"], station) if decision == "issue" else None
    store.decide(settings, request_id, DECISIONS[decision], by, note, no)
    return {"id": request_id, "status": DECISIONS[decision], "certificate": no}
