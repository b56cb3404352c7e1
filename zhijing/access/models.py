"""Organisation, users and purposes (SQLAlchemy Core; SQLite by default, PostgreSQL in
production). Purposes are data: cases with assignments, service tickets, warrant-backed
control orders, declared public-health emergencies with an expiry."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

metadata = sa.MetaData()

TIERS = ("省厅", "市局", "分局", "派出所", "外部")
CLEARANCE = {"public": 0, "internal": 1, "sensitive": 2, "secret": 3}

units = sa.Table(
    "acc_units", metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("tier", sa.String(8), nullable=False),
    sa.Column("parent_code", sa.String(32)),
)  # fmt: skip

users = sa.Table(
    "acc_users", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("unit_code", sa.String(32), sa.ForeignKey("acc_units.code"), nullable=False),
    sa.Column("department", sa.String(32), nullable=False),
    sa.Column("roles", sa.String(256), nullable=False, default="officer"),  # comma separated
    sa.Column("clearance", sa.Integer, nullable=False, default=1),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("kind", sa.String(16), nullable=False, default="officer"),  # officer | external
    sa.Column("household_id", sa.String(64)),  # for the relatives rule (own household)
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)  # fmt: skip

purposes = sa.Table(
    "acc_purposes", metadata,
    sa.Column("ref", sa.String(64), primary_key=True),  # e.g. case:A3302...
    sa.Column("kind", sa.String(16), nullable=False),  # case | ticket | order | emergency
    sa.Column("title", sa.String(256), nullable=False),
    sa.Column("unit_code", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | closed
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("subjects", sa.Text),  # master/person ids the purpose names, comma separated
    sa.Column("topic", sa.String(32)),  # what it is about: a case's matter (fraud, burglary…), a ticket's service
)  # fmt: skip
ADDED_COLUMNS = {"acc_purposes": ("topic",)}  # columns newer than a deployment's database: added on first open

assignments = sa.Table(
    "acc_assignments", metadata,
    sa.Column("ref", sa.String(64), sa.ForeignKey("acc_purposes.ref"), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("acc_users.username"), primary_key=True),
)  # fmt: skip

revoked = sa.Table(
    "acc_revoked_tokens", metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)  # fmt: skip


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    eng = sa.create_engine(url, future=True)
    metadata.create_all(eng)
    _add_columns(eng)
    return eng


def _add_columns(eng: sa.Engine) -> None:
    """Add the columns a database made by an older version lacks (nullable, so no data is touched)."""
    inspector = sa.inspect(eng)
    for table, columns in ADDED_COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name in (c for c in columns if c not in have):
            col = metadata.tables[table].c[name]
            with eng.begin() as conn:
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {col.type.compile(eng.dialect)}"))


def engine(settings) -> sa.Engine:
    return engine_for(settings.sqlalchemy_url("metadata"))


@lru_cache(maxsize=64)
def _created(url: str, tables: sa.MetaData | sa.Table) -> sa.Engine:
    eng = engine_for(url)
    for attempt in range(3):
        try:
            if isinstance(tables, sa.MetaData):
                tables.create_all(eng)
            else:
                tables.create(eng, checkfirst=True)
            return eng
        except sa.exc.DBAPIError as exc:  # a screen's first requests at once: another thread made it between check and CREATE
            if "already exists" not in str(exc.orig) or attempt == 2:
                raise
    return eng


def engine_with(settings, tables: sa.MetaData | sa.Table) -> sa.Engine:
    """The metadata database's engine, with a module's own tables created once per process
    (cases, saved collisions, warnings, grants, exports keep their tables beside the purposes)."""
    return _created(settings.sqlalchemy_url("metadata"), tables)
