"""The access checks every request repeats — the session still open, the user's row, the
purpose usable by this user — remembered per process while nothing they read has changed.

"Nothing changed" is not guessed from a time-to-live: the metadata database keeps one
counter (``acc_generation``) that database triggers bump on every insert, update or delete
of units, users, purposes, assignments and sessions, whoever writes them (this process,
another worker, an administrator at the SQL prompt). A request reads the counter (one
primary-key read) and uses what it remembered only under the same count; a purpose that
closes, a session that ends, a user deactivated is refused on the very next request in every
worker. Expiry is a matter of time, not of writes: a remembered purpose is re-checked once
its ``expires_at`` has passed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa

from zhijing.access import account_tables

T = TypeVar("T")
WATCHED = ("acc_units", "acc_users", "acc_purposes", "acc_assignments", "acc_sessions")
counter = sa.Table("acc_generation", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("n", sa.BigInteger, nullable=False))  # fmt: skip

_SQLITE = [f"""CREATE TRIGGER IF NOT EXISTS {t}_{op.lower()}_generation AFTER {op} ON {t}
               BEGIN UPDATE acc_generation SET n = n + 1 WHERE id = 1; END""" for t in WATCHED for op in ("INSERT", "UPDATE", "DELETE")]  # fmt: skip
_POSTGRES = ["LOCK TABLE acc_generation IN EXCLUSIVE MODE",  # two workers starting at once: one after the other
             # the counter beside the table written, whatever the writer's search_path
             """CREATE OR REPLACE FUNCTION acc_bump_generation() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN EXECUTE format('UPDATE %I.acc_generation SET n = n + 1 WHERE id = 1', TG_TABLE_SCHEMA); RETURN NULL; END $$""",
             *(f"""CREATE OR REPLACE TRIGGER {t}_generation AFTER INSERT OR UPDATE OR DELETE ON {t}
                   FOR EACH STATEMENT EXECUTE FUNCTION acc_bump_generation()""" for t in WATCHED)]  # fmt: skip


@lru_cache(maxsize=8)
def _prepared(url: str, eng: sa.Engine) -> sa.Engine:
    """The counter, its row and the triggers that bump it, once per process and database
    (idempotent: another worker may have made them already)."""
    counter.create(eng, checkfirst=True)
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO acc_generation (id, n) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM acc_generation)"))
        for ddl in _POSTGRES if eng.dialect.name == "postgresql" else _SQLITE:
            conn.execute(sa.text(ddl))
    return eng


_own = threading.local()  # each thread's own SQLite connections for the count (never shared between threads)


def current(settings) -> int:
    """The metadata database's change count (one primary-key read)."""
    url = settings.sqlalchemy_url("metadata")
    eng = _prepared(url, account_tables.engine(settings))  # the watched tables exist
    if eng.dialect.name == "sqlite" and eng.url.database:  # the pool's checkout and reset cost 3x the read itself
        conns = _own.__dict__.setdefault("conns", {})
        if url not in conns:
            conns[url] = sqlite3.connect(eng.url.database, isolation_level=None, check_same_thread=True)
        return int(conns[url].execute("SELECT n FROM acc_generation WHERE id = 1").fetchone()[0])
    conn = eng.raw_connection()  # the DB-API cursor: every request pays this read, Core's compile would cost 10x
    try:
        cur = conn.cursor()
        cur.execute("SELECT n FROM acc_generation WHERE id = 1")
        return int(cur.fetchone()[0])
    finally:
        conn.close()


class Remembered:
    """What this process computed under one generation; a new generation forgets it all."""

    def __init__(self, limit: int = 10_000):
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._values: dict[tuple, Any] = {}
        self._limit = limit

    def get(self, generation: int, key: tuple, compute: Callable[[], T], fresh: Callable[[T], bool] = lambda _: True) -> T:
        """``compute()`` unless remembered under ``generation`` and still ``fresh``. The
        generation is read before computing, so a change while computing only makes the
        next request compute again."""
        with self._lock:
            if self._generation != generation:
                self._generation, self._values = generation, {}
            hit = self._values.get(key, self)
        if hit is not self and fresh(hit):
            return hit
        value = compute()
        with self._lock:
            if self._generation == generation and len(self._values) < self._limit:
                self._values[key] = value
        return value
