"""法律文书: a document made from its template with the case's facts, numbered per year and
unit (``33021201拘字〔2026〕00017号``), signed (Ed25519) with the key of the account that approved
the step it records, versioned (issuing it again keeps the number, adds a version), and shown
with a watermark naming the viewer and the time. A document the case's state does not call
for is refused with the rule (``rules.yaml`` ``documents.*.states``).

Each account's signing key is a file of its own under ``<home>/keys/accounts/`` (mode 0600),
made on first signature like the audit's key; the public half is stored on the document and
beside the key, so a document can be checked without the database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
import sqlalchemy as sa
from markupsafe import escape

from zhijing.access import models as acc
from zhijing.access.audit.signing import Ed25519Signer
from zhijing.access.masking import watermark
from zhijing.cases.procedure import deadlines, store
from zhijing.cases.procedure.machine import Case, Refused, check_document
from zhijing.cases.procedure.rules import load
from zhijing.config import Settings
from zhijing.errors import NotFound

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)


def signer(settings: Settings, username: str) -> Ed25519Signer:
    safe = "".join(ch for ch in username if ch.isalnum() or ch in "-_")
    path = settings.home / "keys" / "accounts" / f"{safe}.ed25519"
    s = Ed25519Signer(path)
    pub = path.with_suffix(".pub")
    if not pub.exists():
        pub.write_text(s.public_key)
    return s


def _local(t: datetime | None) -> str:
    return t.astimezone(deadlines.zone()).strftime("%Y年%m月%d日 %H:%M") if t else ""


def number(unit_code: str, code: str, year: int, n: int) -> str:
    """``33021201拘字〔2026〕00017号``: the unit (its code without the trailing zeros), the kind, year and number."""
    return f"{unit_code.rstrip('0')}{code}字〔{year}〕{n:05d}号"


def _signing_step(steps: list[dict], kind: str, person: str, rules) -> dict | None:
    """The latest step whose action calls for this document (for this person)."""
    for s in sorted(steps, key=lambda s: s["seq"], reverse=True):
        act = rules.action(s["kind"], s["action"], rules.is_measure(s["kind"], s["action"]))
        if act and kind in act.documents and (s["person"] or "") == person:
            return s
    return None


def issue(settings: Settings, case_id: str, kind: str, *, by: str, person: str = "") -> dict:
    """Make, number, sign and store a document; refused if the case's state does not call for it."""
    rules = load()
    spec = rules.documents.get(kind)
    if spec is None:
        raise Refused("document", f"no document {kind} in the rules")
    detail = store.case_detail(settings, case_id)
    if detail is None:
        raise NotFound(f"no case {case_id}")
    case = detail["case"]
    machine = rules.machines[case["kind"]]
    view = Case(case["kind"], case["handler"], case["state"], measures={m["person"]: m["state"] for m in detail["measures"]})
    state = check_document(rules, view, kind, person)
    labels = machine.measures.states if spec.measure else machine.states
    step = _signing_step([{**s, "kind": case["kind"]} for s in detail["steps"]], kind, person if spec.measure else "", rules)
    sign_as = (step or {}).get("approver") or by
    now = datetime.now(UTC)
    limit = next((lim for lim in detail["limits"] if lim["person"] == person and lim["stopped_at"] is None), None) if person else None
    with acc.engine(settings).connect() as conn:
        unit_name = conn.execute(sa.select(acc.units.c.name).where(acc.units.c.code == case["unit_code"])).scalar() or case["unit_code"]
    with store.engine(settings).begin() as conn:
        prior = conn.execute(sa.select(store.documents_t.c.number, sa.func.max(store.documents_t.c.version))
                             .where(store.documents_t.c.case_id == case_id, store.documents_t.c.kind == kind,
                                    sa.func.coalesce(store.documents_t.c.person, "") == person)
                             .group_by(store.documents_t.c.number)).first()  # fmt: skip
        if prior:
            num, version = prior[0], prior[1] + 1
        else:
            year = now.astimezone(deadlines.zone()).year
            num, version = number(case["unit_code"], spec.code, year, store.next_number(conn, year, case["unit_code"], spec.code)), 1
        body = _env().get_template(spec.template).render(
            kind=kind, number=num, version=version, unit_name=unit_name, case=case, facts=case["facts"],
            case_label=machine.label, state_label=labels.get(state, state), opened_local=_local(case["opened_at"]),
            person=person, measure_label=labels.get(state, state), step_local=_local((step or {}).get("at")),
            due_local=_local(limit["due_at"]) if limit else "", articles=rules.cite(spec.articles),
            decision=f"根据{rules.cite(spec.articles)}，{(step or {}).get('action') or kind}。",
            approval_line=f"批准人：{sign_as}" if step and step.get("approver") else f"承办人：{sign_as}",
            issued_local=_local(now))  # fmt: skip
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        key = signer(settings, sign_as)
        values = {"case_id": case_id, "kind": kind, "number": num, "version": version, "person": person or None, "state": state,
                  "issued_at": now, "issued_by": by, "signer": sign_as, "public_key": key.public_key,
                  "signature": key.sign(bytes.fromhex(digest)), "sha256": digest, "body": body, "source": "live"}  # fmt: skip
        doc_id = conn.execute(sa.insert(store.documents_t).values(**values)).inserted_primary_key[0]
    return {**{k: v for k, v in values.items() if k != "body"}, "id": doc_id}


def _document(settings: Settings, doc_id: int) -> dict:
    with store.engine(settings).connect() as conn:
        r = conn.execute(sa.select(store.documents_t).where(store.documents_t.c.id == doc_id)).first()
    if r is None:
        raise NotFound(f"no document {doc_id}")
    return store.row(r)


def verify(settings: Settings, doc_id: int) -> bool:
    """The body is what was signed, by the key the signer's account holds."""
    d = _document(settings, doc_id)
    if not d["body"]:
        return False  # an imported document's index: its paper is elsewhere
    digest = hashlib.sha256(d["body"].encode("utf-8")).hexdigest()
    pub = settings.home / "keys" / "accounts" / f"{''.join(ch for ch in d['signer'] if ch.isalnum() or ch in '-_')}.pub"
    pinned = pub.read_text().strip() if pub.exists() else None
    return digest == d["sha256"] and pinned == d["public_key"] and Ed25519Signer.verify(pinned, bytes.fromhex(digest), d["signature"])


def view(settings: Settings, doc_id: int, viewer: str, purpose: str | None) -> tuple[dict, str]:
    """The document as shown: its body with the viewer's watermark over every page."""
    d = _document(settings, doc_id)
    mark = watermark(viewer, purpose)
    overlay = ('<div style="position:fixed;inset:0;pointer-events:none;opacity:.12;font-size:18px;transform:rotate(-24deg);'
               f'display:flex;flex-wrap:wrap;gap:60px 40px;align-content:center">{(escape(mark) + " ") * 24}</div>')  # fmt: skip
    html = (d["body"] or f"<p>{escape(d['kind'])} {escape(d['number'])}（导入的文书索引）</p>").replace("</body>", overlay + "</body>")
    return {**{k: v for k, v in d.items() if k != "body"}, "watermark": mark}, html
