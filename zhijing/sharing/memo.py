"""What every call re-reads but rarely changes — a contract's terms, the registered deaths —
remembered per process for at most a second (one read a second instead of one a call).

A change takes at most ``TTL`` seconds to reach other processes; within this one, a writer
forgets the key at once (``forget``). Revocation is not left to this: the guard refuses a
revoked contract's purpose on the next request in every process (access/generation.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

TTL = 1.0


class Memo:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, read: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self.lock:
            hit = self.values.get(key)
        if hit is not None and now - hit[0] < TTL:
            return hit[1]
        value = read()
        with self.lock:
            self.values[key] = (now, value)
        return value

    def forget(self, key: Any) -> None:
        with self.lock:
            self.values.pop(key, None)


@lru_cache(maxsize=8)
def _memo(url: str) -> Memo:
    return Memo()


def memo(settings) -> Memo:
    """This process's memo for the deployment's metadata database."""
    return _memo(settings.sqlalchemy_url("metadata"))
