"""Identity and tokens (forged, expired, replayed after logout, wrong algorithm), purpose
checks, Casbin decisions, masking by clearance, export watermark."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from zhijing.access import masking, policy, tokens
from zhijing.access.seed import DEMO_CASE
from zhijing.config import get_settings


def test_login_and_me(api):
    h = api.headers("xingzhen01")
    me = api.get("/api/me", headers=h).json()
    assert me["department"] == "刑侦" and any(p["value"] == DEMO_CASE for p in me["purposes"])
    assert "case:A330200000000003" not in {p["value"] for p in me["purposes"]}  # closed cases are not offered
    assert api.post("/api/auth/token", data={"username": "xingzhen01", "password": "wrong-password"}).status_code == 401


def test_client_credentials_only_for_external_accounts(api):
    ok = api.post("/api/auth/token", data={"grant_type": "client_credentials", "client_id": "weijian01",
                                           "client_secret": api.logins["weijian01"]})  # fmt: skip
    assert ok.status_code == 200
    no = api.post("/api/auth/token", data={"grant_type": "client_credentials", "client_id": "xingzhen01",
                                           "client_secret": api.logins["xingzhen01"]})  # fmt: skip
    assert no.status_code == 400


def _claims(**over):
    s = get_settings()
    now = datetime.now(UTC)
    c = {"sub": "xingzhen01", "iss": s.auth.issuer, "aud": s.auth.audience, "typ": "access", "iat": now, "nbf": now,
         "exp": now + timedelta(minutes=5), "jti": "x" * 32}  # fmt: skip
    c.update(over)
    return c


def test_forged_expired_and_confused_tokens_are_refused(api):
    s = get_settings()
    key = tokens._key(s)
    bad = {
        "forged": jwt.encode(_claims(), b"not-the-key-but-32-bytes-long!!!", algorithm="HS256"),
        "expired": jwt.encode(_claims(exp=datetime.now(UTC) - timedelta(seconds=1)), key, algorithm="HS256"),
        "not yet": jwt.encode(_claims(nbf=datetime.now(UTC) + timedelta(minutes=5)), key, algorithm="HS256"),
        "alg none": jwt.encode(_claims(), None, algorithm="none"),
        "wrong audience": jwt.encode(_claims(aud="other"), key, algorithm="HS256"),
        "wrong type": jwt.encode(_claims(typ="refresh"), key, algorithm="HS256"),
        "garbage": "abc.def.ghi",
    }
    for name, token in bad.items():
        r = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert "xingzhen01" not in r.text


def test_logout_revokes_the_token(api):
    h = api.headers("xingzhen01")
    assert api.get("/api/me", headers=h).status_code == 200
    assert api.post("/api/auth/logout", headers=h).status_code == 200
    assert api.get("/api/me", headers=h).status_code == 401  # a replay after logout


def test_policy_decisions():
    officer = policy.Subject("a", "U1", "刑侦", 1)
    good = policy.Context(True, "case", True)
    assert policy.allowed(officer, "person:api", "read", good)
    assert not policy.allowed(officer, "person:api", "read", policy.Context(True, "case", False))  # not assigned
    assert not policy.allowed(officer, "person:api", "export", good)  # clearance 1 cannot export
    assert policy.allowed(policy.Subject("b", "U1", "刑侦", 2), "person:api", "export", good)
    external = policy.Subject("w", "EXT", "卫健委", 1, is_external=True)
    assert not policy.allowed(external, "person:api", "read", policy.Context(True, "emergency", True))  # deny wins
    assert policy.allowed(external, "person:api", "read", policy.Context(True, "ticket", True))
    assert not policy.allowed(officer, "audit:api", "read", policy.Context())
    assert policy.allowed(policy.Subject("d", "U0", "督察", 3, is_auditor=True), "audit:api", "read", policy.Context())


def test_expired_emergency_is_refused(api):
    from zhijing.access.seed import add_purpose

    add_purpose(get_settings(), "emergency:OLD", "过期应急", "330200000000", ["xingzhen01"],
                expires_at=datetime.now(UTC) - timedelta(days=1))  # fmt: skip
    from zhijing.access.purpose import check

    assert check(get_settings(), "xingzhen01", "x", "emergency:OLD").reason == "the purpose has expired"
    assert check(get_settings(), "xingzhen01", "x", DEMO_CASE).in_scope
    assert not check(get_settings(), "paichusuo01", "x", DEMO_CASE).in_scope  # someone else's case


GRADES = {"name": "internal", "citizen_id": "sensitive", "phone": "sensitive", "address": "internal", "case_text": "secret"}
RECORD = {"name": "张伟", "citizen_id": "430104199003071234", "phone": "13812345678",
          "address": "浙江省宁波市鄞州区天童南路588号", "case_text": "嫌疑人…"}  # fmt: skip


@pytest.mark.parametrize("clearance,expect", [
    (0, {"name": "张*", "citizen_id": "4301**********1234", "phone": "138****5678", "address": "鄞州区…", "case_text": "***"}),
    (1, {"name": "张伟", "citizen_id": "4301**********1234", "phone": "138****5678", "address": RECORD["address"], "case_text": "***"}),
    (2, {**RECORD, "case_text": "***"}),
    (3, RECORD),
])  # fmt: skip
def test_masking_follows_clearance(clearance, expect):
    assert masking.mask(RECORD, GRADES, clearance) == expect


def test_watermark_names_user_time_and_purpose():
    w = masking.watermark("xingzhen01", DEMO_CASE)
    assert "xingzhen01" in w and DEMO_CASE in w and str(time.gmtime().tm_year) in w
