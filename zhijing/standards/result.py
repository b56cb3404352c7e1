"""The outcome of normalizing one value: the standard form, or a reason it has none."""

from __future__ import annotations

from typing import NamedTuple


class Normalized(NamedTuple):
    value: str | None
    reason: str | None = None  # short code such as "bad_check_char"; never the value itself

    @property
    def ok(self) -> bool:
        return self.value is not None


def invalid(reason: str) -> Normalized:
    return Normalized(None, reason)
