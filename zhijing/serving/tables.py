"""The serving store's tables: one per hot lookup, each indexed for it."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Binary collation everywhere, so that a name prefix is a range scan on the index and both
# engines order text alike (PostgreSQL's default collation orders by locale, SQLite's is binary).
Text = sa.String().with_variant(sa.String(collation="C"), "postgresql")

persons = sa.Table(
    "persons", metadata,
    sa.Column("master_id", Text, primary_key=True),
    sa.Column("name", Text, index=True),
    sa.Column("citizen_id", Text),
    sa.Column("sex", Text),
    sa.Column("birth_date", Text),
    sa.Column("phone", Text),
    sa.Column("district", Text),
    sa.Column("mentions", sa.Integer),
)  # fmt: skip

# every identifying value any record gives a person: all their IDs, phones, plates, names
person_keys = sa.Table(
    "person_keys", metadata,
    sa.Column("value", Text, nullable=False, index=True),
    sa.Column("kind", Text, nullable=False),
    sa.Column("master_id", Text, nullable=False),
)  # fmt: skip

# every place the lake knows a person to live or stay: a station code (8 digits) where the
# address resolves to a standard address or a hotel, else the district code (6 digits)
person_places = sa.Table(
    "person_places", metadata,
    sa.Column("master_id", Text, nullable=False, index=True),
    sa.Column("place", Text, nullable=False),
    sa.Column("via", Text, nullable=False),
)  # fmt: skip

# one row per person mention, with the master it was linked to and the record's summary
person_records = sa.Table(
    "person_records", metadata,
    sa.Column("mention_id", Text, primary_key=True),
    sa.Column("master_id", Text, nullable=False, index=True),
    sa.Column("dataset", Text, nullable=False),
    sa.Column("record_id", Text, nullable=False),
    sa.Column("role", Text),
    sa.Column("name", Text),
    sa.Column("citizen_id", Text),
    sa.Column("sex", Text),
    sa.Column("phone", Text),
    sa.Column("address_district", Text),
    sa.Column("seen_at", Text),  # ISO instant in UTC (…Z; a store built before names no zone: UTC too)
    sa.Column("match_probability", sa.Float),
    sa.Column("summary", Text),
)  # fmt: skip

person_extras = sa.Table(
    "person_extras", metadata,
    sa.Column("master_id", Text, primary_key=True),
    sa.Column("household", Text),
    sa.Column("vehicles", Text),  # JSON list of plates
    sa.Column("companies", Text),  # JSON list of USCCs
)  # fmt: skip

store_info = sa.Table(
    "store_info", metadata,
    sa.Column("key", Text, primary_key=True),
    sa.Column("value", Text),
)  # fmt: skip
