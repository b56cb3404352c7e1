"""The store's races on PostgreSQL (the production metadata database): of two dispatchers
sending one unit exactly one wins, concurrent calls get distinct numbers, closing twice is a
conflict. Skipped where the test PostgreSQL is not reachable."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from zhijing.command import store
from zhijing.config import Settings
from zhijing.errors import Conflict

STATION = "33020301"


@pytest.fixture()
def pg_home(postgres, tmp_path):
    """A database of its own on the test server (dropped after), the store's tables in it, four units."""
    url, eng = postgres
    name = f"zj_dispatch_{uuid.uuid4().hex[:8]}"
    admin = eng.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    own = url.rsplit("/", 1)[0] + f"/{name}"
    s = Settings(home=tmp_path / "home", metadata_url=own)
    with store.engine(s).begin() as c:
        c.execute(sa.insert(store.units_t), [{"id": f"{STATION}-巡{i}", "callsign": f"巡逻车{i}", "kind": "patrol_car", "station": STATION,
                                             "status": "available", "lon": 121.55, "lat": 29.87, "last_seen": store._now(), "version": 1}
                                            for i in range(1, 5)])  # fmt: skip
    yield s
    store.engine(s).dispose()
    from zhijing.access import models

    models.engine_for(own).dispose()
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _call(i: int) -> dict:
    return {"narrative": f"call {i}", "lon": 121.55 + i * 0.01, "lat": 29.87, "station": STATION, "category": f"c{i}"}


def _race(targets) -> list:
    barrier, out = threading.Barrier(len(targets)), [None] * len(targets)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = targets[i]()
        except Conflict as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(targets))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return out


def test_races_are_settled_by_postgresql(pg_home):
    ids = _race([lambda i=i: store.create_incident(pg_home, _call(i), "api", "x")["id"] for i in range(8)])
    assert len(set(ids)) == 8 and sorted(int(i[-6:]) for i in ids) == list(range(1, 9))
    for round_ in range(20):
        incs = [store.create_incident(pg_home, _call(100 + 2 * round_ + i), "api", "x")["id"] for i in range(2)]
        out = _race([lambda i=i, inc=inc: store.assign(pg_home, inc, f"{STATION}-巡1", f"d{i}") for i, inc in enumerate(incs)])
        won = [o for o in out if isinstance(o, dict)]
        assert len(won) == 1 and isinstance(next(o for o in out if not isinstance(o, dict)), Conflict), out
        first = incs[0]
        closes = _race([lambda i=i, first=first: store.close(pg_home, first, f"d{i}") for i in range(2)])
        assert sum(isinstance(c, Conflict) for c in closes) == 1
        store.close(pg_home, incs[1], "x")
        assert store.unit(pg_home, f"{STATION}-巡1")["status"] == "available"
    seqs = [e["seq"] for e in store.events_since(pg_home, 0, STATION)]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) > 100
