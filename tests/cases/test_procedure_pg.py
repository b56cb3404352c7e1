"""The procedure store on PostgreSQL (the production metadata database): a small year replayed
there gives the same findings as on SQLite, and a live step is the same transaction. Skipped
where the test PostgreSQL is not reachable."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from zhijing.cases.procedure import replay, supervision
from zhijing.config import Settings
from zhijing.sources.generate.procedure import year_of_cases


@pytest.fixture()
def pg_settings(postgres, tmp_path):
    url, eng = postgres
    name = f"zj_procedure_{uuid.uuid4().hex[:8]}"
    admin = eng.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    own = url.rsplit("/", 1)[0] + f"/{name}"
    yield Settings(home=tmp_path / "pg", metadata_url=own)
    from zhijing.access import models

    models.engine_for(own).dispose()
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_same_findings_on_postgresql(pg_settings, tmp_path):
    year = year_of_cases(250, seed=9)
    tables = {"cases": year.cases, "events": year.events}
    lite = Settings(home=tmp_path / "lite")
    for s in (lite, pg_settings):
        replay.replay(s, tables)

    def keys(settings):
        found = supervision.findings(settings, as_of=year.horizon)
        return {rule: sorted((f["case_id"], f["subject"], f["person"] or "") for f in fs) for rule, fs in found.items()}

    on_pg = keys(pg_settings)
    assert on_pg == keys(lite)
    assert on_pg["missing_document"] and on_pg["held_past_limit"]
