"""The small city with the workbench's presence table and search index built once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from zhijing.config import Settings
from zhijing.lake.store import current_files

# the clean datasets the tests' index holds (the whole lake takes a minute; bench/ builds it all)
INDEXED = ["hukou_person", "vehicle_registration", "lodging", "incident_110", "case_info"]


@dataclass
class Workbench:
    settings: Settings
    city: Path
    links: pd.DataFrame  # dataset, record_id, master_id

    def truth(self, name: str) -> Path | None:
        found = sorted((self.city / "truth" / "structures").glob(f"*{name}*"))
        return found[0] if found else None

    def masters_of_records(self, record_ids) -> list[str]:
        m = self.links.set_index("record_id").master_id
        return [m.get(r) for r in record_ids]

    def masters_of_persons(self, person_ids: list[str]) -> dict[str, list[str]]:
        """truth person id → the masters its records were resolved to (most records first)."""
        rp = pd.read_parquet(self.city / "truth" / "record_persons.parquet")
        rp = rp[rp.person_id.isin(person_ids)].merge(self.links, on=["dataset", "record_id"])
        return {p: g.master_id.value_counts().index.tolist() for p, g in rp.groupby("person_id")}


@pytest.fixture(scope="session")
def workbench(resolved_city) -> Workbench:
    from zhijing.derived.workbench import index_sync, presence

    settings, city, _ = resolved_city
    presence.build(settings)
    index_sync.update(settings, datasets=INDEXED)
    links = duckdb.sql(f"SELECT DISTINCT m.dataset, m.record_id, l.master_id "
                       f"FROM read_parquet({current_files(settings, 'entities', 'person_links')!r}) l "
                       f"JOIN read_parquet({current_files(settings, 'entities', 'person_mentions')!r}) m USING (mention_id)").df()  # fmt: skip
    return Workbench(settings, city, links)



class Api:
    """One TestClient for a test module, logins cached (password hashing is slow on purpose)
    while the token has more than half its life left: a module slower than the token's 15
    minutes on a loaded machine would otherwise send expired tokens."""

    def __init__(self, client, logins: dict[str, str]):
        self.client, self.logins, self.tokens = client, logins, {}

    def headers(self, user: str, purpose: str | None = None) -> dict[str, str]:
        import time

        token, renew_at = self.tokens.get(user, (None, 0.0))
        if token is None or time.monotonic() >= renew_at:
            r = self.client.post("/api/auth/token", data={"username": user, "password": self.logins[user]})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            self.tokens[user] = (token, time.monotonic() + r.json()["expires_in"] / 2)
        return {"Authorization": f"Bearer {token}", **({"X-Purpose": purpose} if purpose else {})}

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.fixture(scope="module")
def wb_api(workbench):
    """The API over the workbench city, for one test module."""
    from fastapi.testclient import TestClient

    from zhijing.config import get_settings, reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(workbench.settings.home))
        reset_settings()
        from zhijing.access.seed import seed_demo
        from zhijing.api.app import create_app

        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        yield Api(TestClient(create_app()), logins)
    reset_settings()

