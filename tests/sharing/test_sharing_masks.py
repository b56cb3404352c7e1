"""The batch result masks in SQL exactly as the access layer masks in Python."""

from __future__ import annotations

import duckdb
import pytest

from zhijing.access.masking import mask_sql, mask_value

VALUES = ["330203198501011234", "3302031985", "1234567", "13812345678", "138", "张三丰", "王", "", None, "1990-01-01", "浙B12345"]


@pytest.mark.parametrize("kind", ["citizen_id", "account_no", "phone", "name", "birth_date", "plate", "code"])
def test_sql_masks_are_the_python_masks(kind):
    con = duckdb.connect()
    got = [r[0] for r in con.execute(f"SELECT {mask_sql('v', kind)} FROM (SELECT unnest(?::VARCHAR[]) AS v)", [VALUES]).fetchall()]
    assert got == [mask_value(v, kind) for v in VALUES]


def test_an_address_is_left_to_python():
    assert mask_sql("v", "address") is None
