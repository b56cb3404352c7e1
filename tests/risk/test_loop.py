"""The warning loop: runs publish whole or not at all, inboxes per unit, person warnings
opened only under a purpose (audited), feedback feeding each model's precision."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from zhijing.access.audit.store import events
from zhijing.api.scheduler import jobs
from zhijing.derived.risk import loop, mules
from zhijing.errors import AccessDenied, ZhijingError

AS_OF = pd.Timestamp("2026-07-01")


def test_run_inbox_open_feedback(risk_home, risk_city, monkeypatch):
    s = risk_home
    _, truth = risk_city
    card = loop.register(s, "mules", evaluation={"recall": 1.0})
    assert card["version"] == mules.VERSION and "payment" in card["training_data"]  # the model types it reads
    r = loop.run(s, "mules", AS_OF)
    assert r["status"] == "ok" and r["warnings"] >= 9
    box = loop.inbox(s, "330200000000", "刑侦", model="mules")
    assert len(box) == r["warnings"] and all(w["subject"] is None for w in box)  # no identity in the inbox
    wid = box[0]["id"]
    with pytest.raises(AccessDenied):
        loop.open_warning(s, "xingzhen01", None, wid)
    full = loop.open_warning(s, "xingzhen01", "case:A330200000000002", wid)
    assert full["subject"].startswith("PM") and full["evidence"]["reported_victims_paying_in"] >= 1
    with sa.create_engine(s.sqlalchemy_url("audit")).connect() as conn:
        audited = (
            conn.execute(sa.select(events.c.outcome).where(events.c.body.contains(f'risk warning {wid}"')))
            .scalars()
            .all()
        )
    assert sorted(audited) == ["allowed", "refused"]

    # triage → act → close with feedback; precision follows
    mule_accounts = set(truth.json("fraud_ring")["mule_accounts"])
    for w in box[:4]:
        account = loop.open_warning(s, "xingzhen01", "case:A330200000000002", w["id"])["evidence"]["account"]
        loop.advance(s, w["id"], "xingzhen01", "triaged")
        loop.advance(s, w["id"], "xingzhen01", "acting")
        loop.advance(
            s, w["id"], "xingzhen01", "closed", "confirmed" if account in mule_accounts else "false_alarm"
        )
    with pytest.raises(ZhijingError):
        loop.advance(s, box[0]["id"], "xingzhen01", "acting")  # closed stays closed
    assert loop.precision(s)["mules"]["precision"] == 1.0
    assert loop.model_cards(s)[0]["feedback"]["confirmed"] == 4

    # a model that raises: run failed, nothing published, the last good warnings kept
    before = {w["id"] for w in loop.inbox(s, "330200000000", "刑侦", model="mules")}

    def broken(settings, as_of):
        raise RuntimeError("boom")

    monkeypatch.setattr(mules, "warnings", broken)
    failed = loop.run(s, "mules", AS_OF)
    assert failed["status"] == "failed" and failed["error"] == "RuntimeError"
    assert {w["id"] for w in loop.inbox(s, "330200000000", "刑侦", model="mules")} == before


def test_area_warnings_name_no_person_and_go_to_a_station(risk_home):
    s = risk_home
    r = loop.run(s, "blackspots", AS_OF)
    assert r["status"] == "ok" and r["warnings"] == 10
    with loop.engine(s).connect() as conn:
        rows = conn.execute(sa.select(loop.warnings_t.c.unit, loop.warnings_t.c.person, loop.warnings_t.c.evidence)
                            .where(loop.warnings_t.c.model == "blackspots")).all()  # fmt: skip
    assert not any(p for _, p, _ in rows)
    assert all(u.endswith("0000") and u != "330200000000" for u, _, _ in rows)  # a station's inbox
    assert all("姓名" not in e and "PM" not in e for _, _, e in rows)


def test_unknown_model_and_the_schedule(risk_home):
    with pytest.raises(ZhijingError, match="unknown model"):
        loop.run(risk_home, "stability")
    assert "risk-models" in jobs(risk_home)


def test_every_model_on_an_empty_lake_warns_nothing(tmp_path):
    """Empty history: each model runs and publishes no warning (and the run is ok)."""
    from zhijing.config import Settings
    from zhijing.derived.risk.registry import MODELS

    s = Settings(home=tmp_path / "empty")
    for name in MODELS:
        r = loop.run(s, name, AS_OF)
        assert r["status"] == "ok" and r["warnings"] == 0, (name, r)


def test_account_warnings_are_personal(risk_home):
    """Laundering warnings name bank accounts: hidden in the inbox like a person's."""
    s = risk_home
    assert loop.run(s, "aml", AS_OF)["status"] == "ok"
    box = loop.inbox(s, "330200000000", "经侦", model="aml")
    assert box and all(w["person"] and w["subject"] is None and "accounts" not in w["evidence"] for w in box)
