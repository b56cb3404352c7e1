"""Residents of the resolved small city to verify and query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from zhijing.serving import store
from zhijing.serving.tables import persons
from zhijing.standards.citizen_id import normalize


@pytest.fixture(scope="module")
def residents(resolved_city) -> list[dict]:
    """Persons of the store with a valid citizen ID and a name."""
    with store.connect(resolved_city[0]) as conn:
        rows = [dict(r) for r in conn.execute(sa.select(persons).where(persons.c.citizen_id.is_not(None), persons.c.name.is_not(None))
                                              .order_by(persons.c.mentions.desc()).limit(400)).mappings()]
    return [r for r in rows if normalize(r["citizen_id"]).ok and normalize(r["citizen_id"]).value == r["citizen_id"]][:200]
