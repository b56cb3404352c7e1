"""What the public services keep, beside the purposes in the metadata database: one-time
codes and citizens' sessions (their secrets only as hashes), requests (certificates, lost and
found) with the station that handles them, and the register of issued certificates."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from zhijing.access import models
from zhijing.access.account_tables import aware
from zhijing.errors import AccessDenied, NotFound

metadata = sa.MetaData()


def _confirmed() -> list[sa.Column]:
    """Who a code or a session stands for, and until when."""
    return [sa.Column("master_id", sa.String(64), nullable=False), sa.Column("name", sa.String(64), nullable=False),
            sa.Column("citizen_id", sa.String(18), nullable=False), sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False)]  # fmt: skip


challenges = sa.Table("gov_challenges", metadata, sa.Column("id", sa.String(32), primary_key=True),
                      sa.Column("code_hash", sa.String(64), nullable=False), *_confirmed(),
                      sa.Column("attempts", sa.Integer, nullable=False, default=0))  # fmt: skip
sessions = sa.Table("gov_sessions", metadata, sa.Column("token_hash", sa.String(64), primary_key=True), *_confirmed())

requests = sa.Table(
    "gov_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # no_record | hukou | lost | found
    sa.Column("status", sa.String(16), nullable=False),  # issued | review | refused | received | closed
    sa.Column("master_id", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("citizen_id", sa.String(18), nullable=False),
    sa.Column("station", sa.String(32), nullable=False),  # the unit that handles it
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("detail", sa.Text),  # JSON: a report's item, place, time, description, contact
    sa.Column("internal", sa.Text),  # why it needs a human, or why it was refused: never shown to the citizen
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("certificate", sa.String(32)),
)  # fmt: skip

certificates = sa.Table(
    "gov_certificates", metadata,
    sa.Column("no", sa.String(32), primary_key=True),
    sa.Column("request_id", sa.Integer, nullable=False),
    sa.Column("master_id", sa.String(64), nullable=False, index=True),
    sa.Column("fields", sa.Text, nullable=False),  # JSON: every field, the full ID too
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip


def engine(settings) -> sa.Engine:
    return models.engine_with(settings, metadata)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_challenge(settings, master_id: str, name: str, citizen_id: str) -> tuple[str, str]:
    """(challenge id, one-time code) for a confirmed name + ID + phone."""
    cid, code = secrets.token_urlsafe(16), f"{secrets.randbelow(10**6):06d}"
    expires = datetime.now(UTC) + timedelta(minutes=settings.public.code_minutes)
    with engine(settings).begin() as conn:
        conn.execute(sa.delete(challenges).where(challenges.c.expires_at < datetime.now(UTC)))
        conn.execute(sa.insert(challenges).values(id=cid, code_hash=_hash(code), master_id=master_id, name=name,
                                                  citizen_id=citizen_id, expires_at=expires, attempts=0))  # fmt: skip
    return cid, code


MAX_ATTEMPTS = 3  # wrong codes per challenge, then it is gone


def confirm(settings, challenge_id: str, code: str) -> tuple[str, dict]:
    """(session token, the citizen) for the right code in time; AccessDenied otherwise."""
    with engine(settings).begin() as conn:
        row = conn.execute(sa.select(challenges).where(challenges.c.id == challenge_id)).first()
        if row is None or aware(row.expires_at) < datetime.now(UTC):
            raise AccessDenied("the code has expired: ask for a new one")
        if not secrets.compare_digest(row.code_hash, _hash(code.strip())):
            left = MAX_ATTEMPTS - row.attempts - 1
            if left <= 0:
                conn.execute(sa.delete(challenges).where(challenges.c.id == challenge_id))
            else:
                conn.execute(sa.update(challenges).where(challenges.c.id == challenge_id).values(attempts=row.attempts + 1))
            raise AccessDenied("wrong code")
        conn.execute(sa.delete(challenges).where(challenges.c.id == challenge_id))
        conn.execute(sa.delete(sessions).where(sessions.c.expires_at < datetime.now(UTC)))
        token = secrets.token_urlsafe(32)
        citizen = {"master_id": row.master_id, "name": row.name, "citizen_id": row.citizen_id}
        conn.execute(sa.insert(sessions).values(token_hash=_hash(token), expires_at=datetime.now(UTC) + timedelta(
            minutes=settings.public.session_minutes), **citizen))  # fmt: skip
    return token, citizen


def citizen(settings, token: str | None) -> dict:
    """The citizen a session token names (AccessDenied when none, unknown or expired)."""
    if not token:
        raise AccessDenied("confirm your identity first")
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(sessions).where(sessions.c.token_hash == _hash(token))).first()
    if row is None or aware(row.expires_at) < datetime.now(UTC):
        raise AccessDenied("your session has ended: confirm your identity again")
    return {"master_id": row.master_id, "name": row.name, "citizen_id": row.citizen_id}


def end_session(settings, token: str | None) -> None:
    if token:
        with engine(settings).begin() as conn:
            conn.execute(sa.delete(sessions).where(sessions.c.token_hash == _hash(token)))


def add_request(settings, kind: str, status: str, who: dict, station: str, detail: dict | None = None,
                internal: str | None = None) -> int:  # fmt: skip
    with engine(settings).begin() as conn:
        return conn.execute(sa.insert(requests).values(
            kind=kind, status=status, master_id=who["master_id"], name=who["name"], citizen_id=who["citizen_id"], station=station,
            created_at=datetime.now(UTC),
            detail=json.dumps(detail, ensure_ascii=False) if detail else None, internal=internal)).inserted_primary_key[0]  # fmt: skip


def request(settings, request_id: int) -> dict:
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(requests).where(requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound("no such request")
    return dict(row)


def own_requests(settings, master_id: str) -> list[dict]:
    with engine(settings).connect() as conn:
        q = sa.select(requests).where(requests.c.master_id == master_id).order_by(requests.c.id.desc()).limit(50)
        return [dict(r) for r in conn.execute(q).mappings()]


def station_requests(settings, station: str, status: str | None = None, limit: int = 100) -> list[dict]:
    with engine(settings).connect() as conn:
        q = sa.select(requests).where(requests.c.station == station)
        if status:
            q = q.where(requests.c.status == status)
        return [dict(r) for r in conn.execute(q.order_by(requests.c.id.desc()).limit(limit)).mappings()]


def decide(settings, request_id: int, status: str, by: str, internal: str | None, certificate: str | None = None) -> None:
    with engine(settings).begin() as conn:
        values = {"status": status, "decided_by": by, "decided_at": datetime.now(UTC), "certificate": certificate}
        if internal:
            values["internal"] = internal
        conn.execute(sa.update(requests).where(requests.c.id == request_id).values(**values))


def register(settings, no: str, request_id: int, master_id: str, fields: dict, payload: str) -> None:
    with engine(settings).begin() as conn:
        conn.execute(sa.insert(certificates).values(no=no, request_id=request_id, master_id=master_id, payload=payload,
                                                    fields=json.dumps(fields, ensure_ascii=False), issued_at=datetime.now(UTC)))  # fmt: skip


def certificate(settings, no: str, master_id: str) -> dict:
    """An issued certificate of this citizen (NotFound for another's: one answer for both)."""
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(certificates).where(certificates.c.no == no, certificates.c.master_id == master_id)).first()
    if row is None:
        raise NotFound("no such certificate")
    return {"no": row.no, "fields": json.loads(row.fields), "payload": row.payload}
