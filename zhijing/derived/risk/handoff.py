"""Hand-off of a traced contact list to the health department (卫健委) through a service
ticket: the ticket names exactly the contacts, is assigned to the department's accounts
and expires with the emergency; the disclosure and every reading of the list are audited."""

from __future__ import annotations

import uuid

import pandas as pd
import sqlalchemy as sa

from zhijing.access import models as acc
from zhijing.access.audit import AuditEvent, append
from zhijing.access.guard import load_user
from zhijing.access.seed import add_purpose
from zhijing.config import Settings
from zhijing.derived.risk import contacts, loop
from zhijing.errors import AccessDenied

handoffs = loop.handoffs  # in the loop's metadata: one store, created together
COLUMNS = ["contact_master", "index_master", "channel", "score", "rows_apart", "hours"]


def hand_off(settings: Settings, username: str, emergency: str, index: list[str], to: list[str]) -> str:
    """Trace under ``emergency`` (audited, emergency-only) and open a ticket for the health
    department's accounts ``to`` naming the contacts; returns the ticket reference."""
    found = contacts.trace(settings, username, emergency, index)
    user = load_user(settings, username)
    with loop.engine(settings).connect() as conn:
        e = conn.execute(sa.select(acc.purposes).where(acc.purposes.c.ref == emergency)).first()
        external = set(
            conn.execute(sa.select(acc.users.c.username).where(acc.users.c.kind == "external")).scalars()
        )
    if not to or not set(to) <= external:
        raise AccessDenied("a hand-off goes to the health department's accounts only")
    ref = f"ticket:HO-{uuid.uuid4().hex[:10]}"
    names = sorted(set(found.contact_master))
    add_purpose(
        settings,
        ref,
        f"密接名单移交（{e.title}）",
        e.unit_code,
        list(to),
        expires_at=e.expires_at,
        subjects=names,
        topic="health_handoff",
    )
    rows = found.drop_duplicates(["contact_master", "index_master", "channel"])[COLUMNS]
    with loop.engine(settings).begin() as conn:
        if len(rows):
            conn.execute(sa.insert(handoffs), [{"ticket": ref, **{k: (None if pd.isna(v) else v) for k, v in r.items()}}
                                               for r in rows.to_dict("records")])  # fmt: skip
    append(AuditEvent(actor=user.username, unit=user.unit, operation="disclose", outcome="allowed", purpose=emergency,
                      records=names, query=f"risk contacts handoff {ref} to {','.join(to)}", client="api"), settings)  # fmt: skip
    return ref


def listing(settings: Settings, ticket: str) -> list[dict]:
    """The contacts a hand-off ticket names, best first (callers apply the access layer)."""
    with loop.engine(settings).connect() as conn:
        rows = conn.execute(
            sa.select(handoffs).where(handoffs.c.ticket == ticket).order_by(handoffs.c.score.desc())
        ).mappings()
        return [dict(r) for r in rows]
