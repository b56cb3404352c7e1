"""The serving store's tables: one per hot lookup, each indexed for it."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Binary collation so that a name prefix is a range scan on the index (PostgreSQL's default
# collation would order Chinese text by locale, SQLite's is already binary).
Text = sa.String().with_variant(sa.String(collation="C"), "postgresql")

persons = sa.Table(
    "persons", metadata,
    sa.Column("master_id", sa.String, primary_key=True),
    sa.Column("name", Text, index=True),
    sa.Column("citizen_id", sa.String),
    sa.Column("sex", sa.String),
    sa.Column("birth_date", sa.String),
    sa.Column("phone", sa.String),
    sa.Column("district", sa.String),
    sa.Column("mentions", sa.Integer),
)  # fmt: skip

# every identifying value any record gives a person: all their IDs, phones, plates, names
person_keys = sa.Table(
    "person_keys", metadata,
    sa.Column("value", Text, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("master_id", sa.String, nullable=False),
)  # fmt: skip

# every place the lake knows a person to live or stay: a station code (8 digits) where the
# address resolves to a standard address or a hotel, else the district code (6 digits)
person_places = sa.Table(
    "person_places", metadata,
    sa.Column("master_id", sa.String, nullable=False, index=True),
    sa.Column("place", sa.String, nullable=False),
    sa.Column("via", sa.String, nullable=False),
)  # fmt: skip

# one row per person mention, with the master it was linked to and the record's summary
person_records = sa.Table(
    "person_records", metadata,
    sa.Column("mention_id", sa.String, primary_key=True),
    sa.Column("master_id", sa.String, nullable=False, index=True),
    sa.Column("dataset", sa.String, nullable=False),
    sa.Column("record_id", sa.String, nullable=False),
    sa.Column("role", sa.String),
    sa.Column("name", sa.String),
    sa.Column("citizen_id", sa.String),
    sa.Column("sex", sa.String),
    sa.Column("phone", sa.String),
    sa.Column("address_district", sa.String),
    sa.Column("seen_at", sa.String),  # ISO instant (UTC)
    sa.Column("match_probability", sa.Float),
    sa.Column("summary", sa.String),
)  # fmt: skip

person_extras = sa.Table(
    "person_extras", metadata,
    sa.Column("master_id", sa.String, primary_key=True),
    sa.Column("household", sa.String),
    sa.Column("vehicles", sa.String),  # JSON list of plates
    sa.Column("companies", sa.String),  # JSON list of USCCs
)  # fmt: skip

store_info = sa.Table(
    "store_info", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String),
)  # fmt: skip
