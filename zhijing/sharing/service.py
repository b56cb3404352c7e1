"""The contract's terms applied to one call: the contract active, unexpired, not throttled,
of the caller's department, opening the service and every field asked; the quota spent; the
enumeration watch told. What a call answers is built here; the route's guard writes the
audit event (a disclosure naming the persons, the fields and the contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from zhijing.access import masking
from zhijing.errors import ZhijingError
from zhijing.sharing import contracts, probing
from zhijing.sharing.contracts import FIELDS, Contract
from zhijing.sharing.lookup import by_citizen_id
from zhijing.sharing.usage import meter
from zhijing.sharing.verify import ATTRIBUTES, VerifyResult, compare
from zhijing.standards import citizen_id as cid

MAX_QUERY = 100  # persons one query names


class Refused(ZhijingError):
    """A call the contract does not cover: one line, the HTTP status to answer."""

    def __init__(self, reason: str, status: int = 403):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Caller:
    username: str
    department: str
    clearance: int


def contract_of(purpose: str | None) -> int:
    ref = (purpose or "").removeprefix("contract:")
    if not (purpose or "").startswith("contract:") or not ref.isdigit() or len(ref) > 12:
        raise Refused("the purpose must be the contract: contract:<id>")
    return int(ref)


def usable(settings, caller: Caller, purpose: str | None, service: str, fields: list[str] = ()) -> Contract:
    """The contract the call names, if it covers the call; else ``Refused`` (counted as a refusal)."""
    c = contracts.current(settings, contract_of(purpose))
    now = datetime.now(UTC)
    reason, status = None, 403
    if c.department != caller.department:
        reason = "this contract belongs to another department"
    elif c.state(now) != "active":
        reason = f"the contract is {c.state(now)}"
    elif c.throttled_until and c.throttled_until > now:
        reason, status = f"the contract is throttled until {c.throttled_until:%H:%M} UTC: enumeration suspected", 429
    elif service not in c.services:
        reason = f"the contract does not include the {service} service"
    elif outside := sorted(set(fields) - set(c.fields)):
        reason = f"fields outside the contract: {', '.join(outside[:5])}"
    if reason:
        if c.department == caller.department:
            meter(settings).count(settings, c.id, service, refusals=1)
        raise Refused(reason, status)
    return c


def spend(settings, c: Contract, service: str, n: int = 1) -> None:
    if not meter(settings).take(settings, c.id, c.daily_quota, n):
        meter(settings).count(settings, c.id, service, refusals=n)
        raise Refused(f"the contract's daily quota of {c.daily_quota} is exhausted", 429)


def _watched(settings, c: Contract, caller: Caller, citizen_id: str | None, hit: bool) -> None:
    pattern = probing.watch(settings).note(settings, c.id, citizen_id, hit)
    if pattern:
        until = probing.caught(settings, c, caller.username, pattern)
        raise Refused(f"{pattern}: the contract is throttled until {until:%H:%M} UTC and flagged for review", 429)


def verify(settings, caller: Caller, purpose: str | None, name: str, citizen_id: str, attrs: dict) -> tuple[VerifyResult, str | None]:
    """One verification under the contract: (answer, master id or None)."""
    stated = [a for a, v in attrs.items() if v not in (None, "")]
    c = usable(settings, caller, purpose, "verify", [f for f in stated if f in FIELDS])
    if bad := sorted(set(stated) - set(ATTRIBUTES)):
        meter(settings).count(settings, c.id, "verify", refusals=1)
        raise Refused(f"cannot verify {', '.join(bad[:3])}: attributes are {', '.join(ATTRIBUTES)}", 422)
    spend(settings, c, "verify")
    n = cid.normalize(citizen_id)
    if not n.ok:
        meter(settings).count(settings, c.id, "verify", calls=1, refusals=1)
        _watched(settings, c, caller, None, False)
        raise Refused(f"not a valid citizen ID ({n.reason})", 422)
    person = by_citizen_id(settings, [n.value]).get(n.value)
    result = compare(person, name, n.value, {a: attrs[a] for a in stated})
    meter(settings).count(settings, c.id, "verify", calls=1, hits=int(result.match))
    _watched(settings, c, caller, n.value, person is not None)
    return result, person["master_id"] if person else None


def shown(person: dict, fields: tuple[str, ...], clearance: int) -> dict:
    """The contract's fields of one person, each masked above the caller's clearance."""
    row = {f: person.get(f) for f in fields}
    row = masking.mask(row, {f: FIELDS[f].grade for f in fields}, clearance, {f: FIELDS[f].element for f in fields})
    if "vehicles" in row and isinstance(person.get("vehicles"), list) and row["vehicles"] == "***":
        row["vehicles"] = ["***"] * len(person["vehicles"])
    return row


def query(settings, caller: Caller, purpose: str | None, citizen_ids: list[str], fields: list[str] | None) -> tuple[list[dict], list[str]]:
    """The contract's fields (all, or those asked) of the persons named: (rows, master ids)."""
    c = usable(settings, caller, purpose, "query", fields or [])
    if not 1 <= len(citizen_ids) <= MAX_QUERY:
        meter(settings).count(settings, c.id, "query", refusals=1)
        raise Refused(f"name 1 .. {MAX_QUERY} persons", 422)
    spend(settings, c, "query", len(citizen_ids))
    wanted = tuple(f for f in c.fields if not fields or f in fields)
    valid = {raw: n.value for raw in citizen_ids if (n := cid.normalize(raw)).ok}
    found = by_citizen_id(settings, list(valid.values()), extras=True)
    rows, masters = [], []
    for raw in citizen_ids:
        person = found.get(valid.get(raw, ""))
        _watched(settings, c, caller, valid.get(raw), person is not None)
        if person is None:
            rows.append({"asked": raw, "found": False} | ({} if raw in valid else {"error": "not a valid citizen ID"}))
            continue
        masters.append(person["master_id"])
        rows.append({"asked": raw, "found": True, **shown(person, wanted, caller.clearance)})
    meter(settings).count(settings, c.id, "query", calls=len(citizen_ids), hits=len(masters))
    return rows, masters
