""" "六同" contact tracing: recall of the planted close contacts, precision reported, and
only under a declared, unexpired emergency that names the index cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from zhijing.access.audit.store import events
from zhijing.access.seed import add_purpose
from zhijing.derived.risk import contacts, data
from zhijing.errors import AccessDenied


def _person_master(settings, truth) -> tuple[pd.Series, pd.Series]:
    """person_id → its most-linked master id, and back (from the links and the mention truth)."""
    links = data.query(settings, "SELECT mention_id, master_id FROM l", l="entities/person_links")
    links[["dataset", "record_id", "role"]] = links.mention_id.str.split("|", expand=True)
    m = links.merge(truth.file("record_persons"), on=["dataset", "record_id", "role"])
    n = m.groupby(["person_id", "master_id"]).size().rename("n").reset_index().sort_values("n", kind="stable")
    p2m = n.drop_duplicates("person_id", keep="last").set_index("person_id").master_id
    m2p = n.drop_duplicates("master_id", keep="last").set_index("master_id").person_id
    return p2m, m2p


@pytest.fixture(scope="module")
def planted(risk_city):
    settings, truth = risk_city
    p2m, m2p = _person_master(settings, truth)
    c = truth.table("epidemic_contacts")
    index = [p2m[p] for p in c.index_person_id.unique()]
    return c, index, m2p


def test_recall_of_planted_contacts(risk_city, planted):
    settings, known = risk_city
    c, index, m2p = planted
    non_local = known.file("persons").set_index("person_id").non_local
    elsewhere = c[(c.channel == "household") & c.index_person_id.map(non_local)]
    assert len(elsewhere) > 0  # the city plants households registered elsewhere (流动人口): they count too
    out = contacts.trace_contacts(settings, index)
    pairs = set(zip(out.index_master.map(m2p), out.contact_master.map(m2p), strict=True))
    truth = set(zip(c.index_person_id, c.contact_person_id, strict=True))
    recall, precision = len(truth & pairs) / len(truth), len(truth & pairs) / len(pairs)
    missed = c[[(i, k) not in pairs for i, k in zip(c.index_person_id, c.contact_person_id, strict=True)]]
    print(f"contacts: recall {recall:.3f} of {len(truth)} planted, precision {precision:.3f} of {len(pairs)} listed; "
          f"missed by channel {missed.channel.value_counts().to_dict()}")  # fmt: skip
    assert recall >= 0.99  # of every planted contact
    assert "floating_person" in set(out[out.channel == "household"].dataset)
    assert {"channel", "rows_apart", "hours", "score"} <= set(out.columns)
    assert out.score.is_monotonic_decreasing


def test_only_under_an_unexpired_emergency_naming_the_cases(risk_home, planted):
    _, index, _ = planted
    s = risk_home
    unit = "330200000000"
    with pytest.raises(AccessDenied, match="emergency"):
        contacts.trace(s, "xingzhen01", "case:A330200000000002", index[:1])  # a case is not an emergency
    with pytest.raises(AccessDenied, match="does not name"):
        contacts.trace(s, "xingzhen01", "emergency:PH2026-01", index[:1])  # the demo emergency names no one
    add_purpose(s, "emergency:PH-T1", "密接排查", unit, ["xingzhen01"], expires_at=datetime.now(UTC) + timedelta(days=1),
                subjects=index)  # fmt: skip
    found = contacts.trace(s, "xingzhen01", "emergency:PH-T1", index)
    assert len(found) > 0
    with pytest.raises(AccessDenied):
        contacts.trace(s, "paichusuo01", "emergency:PH-T1", index)  # not assigned
    add_purpose(s, "emergency:PH-T1", "密接排查", unit, ["xingzhen01"], expires_at=datetime.now(UTC) - timedelta(seconds=1),
                subjects=index)  # fmt: skip
    with pytest.raises(AccessDenied, match="expired"):
        contacts.trace(s, "xingzhen01", "emergency:PH-T1", index)
    with sa.create_engine(s.sqlalchemy_url("audit")).connect() as conn:
        rows = conn.execute(
            sa.select(events.c.outcome, events.c.purpose).where(
                events.c.actor.in_(["xingzhen01", "paichusuo01"])
            )
        ).all()
    assert sorted(o for o, p in rows if p == "emergency:PH-T1") == ["allowed", "refused", "refused"]


def test_expiry_mid_query_returns_nothing(risk_home, planted, monkeypatch):
    _, index, _ = planted
    s = risk_home
    add_purpose(s, "emergency:PH-T2", "密接排查", "330200000000", ["xingzhen01"],
                expires_at=datetime.now(UTC) + timedelta(days=1), subjects=index)  # fmt: skip
    real = contacts.trace_contacts

    def slow(settings, idx):  # the emergency ends while the query runs
        out = real(settings, idx)
        add_purpose(s, "emergency:PH-T2", "密接排查", "330200000000", ["xingzhen01"],
                    expires_at=datetime.now(UTC) - timedelta(seconds=1), subjects=index)  # fmt: skip
        return out

    monkeypatch.setattr(contacts, "trace_contacts", slow)
    with pytest.raises(AccessDenied, match="expired"):
        contacts.trace(s, "xingzhen01", "emergency:PH-T2", index)
