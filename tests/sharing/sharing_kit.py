"""Helpers of the sharing tests: the terms of a demo contract, one approved on both sides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

TERMS = {"title": "医保参保核查", "department": "卫健委", "purpose": "参保人员身份核查与死亡注销",
         "legal_basis": "《基本医疗卫生与健康促进法》第八十七条", "datasets": ["hukou_person"],
         "fields": ["name", "sex", "birth_date", "district", "living"], "services": ["verify", "query", "batch", "subscribe"],
         "events": ["death", "move_out", "vehicle_transfer"], "daily_quota": 500,
         "dept_approver": "weijian02", "police_approver": "kezhang01"}  # fmt: skip


def expiry(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def approved(api, **overrides) -> dict:
    """A contract requested by weijian01 and approved on both sides."""
    body = {**TERMS, "expires_at": expiry(), **overrides}
    r = api.post("/api/sharing/contracts", json=body, headers=api.headers("weijian01"))
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    for who in ("weijian02", "kezhang01"):
        r = api.post(f"/api/sharing/contracts/{cid}/approve", headers=api.headers(who))
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"
    return r.json()
