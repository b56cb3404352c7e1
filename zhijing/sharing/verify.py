"""Verification (核查): do this name and citizen ID (and optional attributes) match a living
person the platform knows? The answer is yes, or no with the names of the attributes that
differ — never a value.

``verify_identity`` is the platform's own use (为民服务: a citizen's identity before a
certificate), audited under the actor it names; departments verify through a contract
(``service.verify``), which meters, watches and audits each call as a disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zhijing.access.audit import AuditEvent, append
from zhijing.errors import ZhijingError
from zhijing.sharing.changes import valid_id
from zhijing.sharing.lookup import by_citizen_id, normal
from zhijing.standards.citizen_id import facts as id_facts

ATTRIBUTES = ("sex", "birth_date", "phone", "district")  # what a caller may state besides name and ID
_SEX = {"1": "男", "2": "女", "M": "男", "F": "女", "MALE": "男", "FEMALE": "女", "男": "男", "女": "女"}


@dataclass(frozen=True)
class VerifyResult:
    match: bool
    differs: list[str] = field(default_factory=list)  # attribute names, never values


def _stated(attr: str, value) -> str:
    v = normal(value)
    if attr == "sex":
        return _SEX.get(v, v)
    if attr == "birth_date":
        return v.replace("-", "").replace("/", "").replace("年", "").replace("月", "").replace("日", "")
    return v


def compare(person: dict | None, name: str, citizen_id: str, attrs: dict) -> VerifyResult:
    """The answer for one stated identity against the person the ID names (None: nobody)."""
    unknown = sorted(set(attrs) - set(ATTRIBUTES))
    if unknown:
        raise ZhijingError(f"cannot verify {', '.join(unknown[:3])}: attributes are {', '.join(ATTRIBUTES)}")
    if person is None:
        return VerifyResult(False, ["citizen_id"])
    differs = [] if normal(person["name"] or "") == normal(name) else ["name"]
    for attr, value in attrs.items():
        if value is None or value == "":
            continue
        have = person.get(attr)
        if attr == "sex" and not have:
            have = id_facts(citizen_id).sex
        if attr == "birth_date" and not have:
            have = id_facts(citizen_id).birth_date.isoformat()
        if have is None or _stated(attr, have) != _stated(attr, value):
            differs.append(attr)
    if not person.get("living", True):
        differs.append("living")
    return VerifyResult(not differs, differs)


def lookup_and_compare(settings, name: str, citizen_id: str, attrs: dict) -> tuple[VerifyResult, str | None]:
    """(answer, master id or None): the lookup every verification makes, without any access layer."""
    cid = valid_id(citizen_id)
    person = by_citizen_id(settings, [cid]).get(cid)
    return compare(person, name, cid, attrs), person["master_id"] if person else None


def verify_identity(settings, name: str, citizen_id: str, *, actor: str = "public-service", **attrs) -> VerifyResult:
    """The platform's own identity check (e.g. a citizen asking for a certificate), audited as
    a consultation by ``actor``. A malformed ID raises ``ZhijingError`` (one line, no value)."""
    try:
        result, master = lookup_and_compare(settings, name, citizen_id, attrs)
    except ZhijingError as exc:
        append(AuditEvent(actor=actor, operation="consult", outcome="refused", query="identity verification",
                          reason=str(exc)), settings)  # fmt: skip
        raise
    append(AuditEvent(actor=actor, operation="consult", outcome="allowed", records=[master] if master else [],
                      query=f"identity verification: {'match' if result.match else 'differs ' + ','.join(result.differs)}"),
           settings)  # fmt: skip
    return result
