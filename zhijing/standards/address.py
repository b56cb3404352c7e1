"""Addresses parsed into province / city / district / detail with the division code.

Recognition of division names (including a district written without its city) is
cpca's; this module fixes the output shape and the reasons.
"""

from __future__ import annotations

from typing import NamedTuple

import cpca


class Address(NamedTuple):
    province: str | None
    city: str | None
    district: str | None
    detail: str | None
    division_code: str | None


def parse_many(texts: list[str | None]) -> list[Address]:
    """Vectorised parse (cpca works on batches)."""
    clean = [t if isinstance(t, str) else "" for t in texts]
    df = cpca.transform(clean)
    out = []
    for prov, city, dist, detail, code in df[["省", "市", "区", "地址", "adcode"]].itertuples(index=False):
        out.append(
            Address(prov or None, city or None, dist or None, detail or None, (str(code)[:6] if code else None))
        )
    return out


def parse(text: str | None) -> Address:
    return parse_many([text])[0]
