"""Slow results computed once per data version and kept on disk (the hot-spot forecast, the
map's layers at each zoom): every worker process of the server reads the same files, one of
them computes (a lock file says which), the others answer with its progress meanwhile.

A result is a folder ``<state>/computed/<kind>/<key>/`` published by renaming a finished
temporary folder, so a reader sees all of it or none; its key names the data versions it was
computed from, so a new lake version is a new key and the old one is never served for it.
The computing worker writes its progress (a share done and the step) to ``progress.json``
beside the lock; a lock whose writer died (its process is gone, or it is older than
``STALE_S``) is taken over."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from zhijing.config import Settings

STALE_S = 15 * 60  # a computation not finished in this long is taken to have died
Report = Callable[[float, str], None]  # (share done 0–1, step) → None


def key(*parts: object) -> str:
    """A short stable key from the data versions (and parameters) a result depends on."""
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:20]


def folder(settings: Settings, kind: str, k: str) -> Path:
    return settings.state_dir / "computed" / kind / k


def ready(settings: Settings, kind: str, k: str) -> Path | None:
    """The finished result's folder, or None."""
    out = folder(settings, kind, k)
    return out if (out / ".done").exists() else None


def progress(settings: Settings, kind: str, k: str) -> dict:
    """``{"state": "ok" | "computing" | "failed" | "absent", "done": 0–1, "step": str}``."""
    if ready(settings, kind, k):
        return {"state": "ok", "done": 1.0, "step": ""}
    base = folder(settings, kind, k)
    try:
        return json.loads((base.parent / f"{k}.progress.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"state": "absent", "done": 0.0, "step": ""}


def _write_progress(base: Path, k: str, state: str, done: float, step: str) -> None:
    tmp = base.parent / f"{k}.progress.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(json.dumps({"state": state, "done": round(done, 3), "step": step}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, base.parent / f"{k}.progress.json")


def _take_lock(lock: Path) -> bool:
    """True when this process now holds the lock (created, or taken over from a dead holder)."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            try:
                pid, since = lock.read_text().split()
                alive = _alive(int(pid)) and time.time() - float(since) < STALE_S
            except (OSError, ValueError):
                alive = False
            if alive:
                return False
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {time.time()}")
        return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def compute(settings: Settings, kind: str, k: str, make: Callable[[Path, Report], None]) -> dict:
    """Run ``make(tmp_folder, report)`` here unless another worker already does (or did):
    the finished folder is published as the result. Returns the progress afterwards."""
    if ready(settings, kind, k):
        return progress(settings, kind, k)
    base = folder(settings, kind, k)
    base.parent.mkdir(parents=True, exist_ok=True)
    lock = base.parent / f"{k}.lock"
    if not _take_lock(lock):
        return progress(settings, kind, k)
    tmp = base.parent / f"{k}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        if ready(settings, kind, k):  # finished by another worker between our look and our lock
            return progress(settings, kind, k)
        _write_progress(base, k, "computing", 0.0, "")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        make(tmp, lambda done, step: _write_progress(base, k, "computing", done, step))
        (tmp / ".done").touch()
        shutil.rmtree(base, ignore_errors=True)
        os.replace(tmp, base)
        _write_progress(base, k, "ok", 1.0, "")
    except Exception as exc:  # the reason is kept for the console; the next request tries again
        _write_progress(base, k, "failed", 0.0, type(exc).__name__)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        lock.unlink(missing_ok=True)
    return progress(settings, kind, k)


def start(settings: Settings, kind: str, k: str, make: Callable[[Path, Report], None], wait_s: float = 0.0) -> dict:
    """``compute`` in a background thread (a request answers at once with the progress);
    waits up to ``wait_s`` for the result first."""
    if ready(settings, kind, k):
        return progress(settings, kind, k)
    state = progress(settings, kind, k)
    if state["state"] != "computing" or not (folder(settings, kind, k).parent / f"{k}.lock").exists():
        threading.Thread(target=_quiet, args=(settings, kind, k, make), name=f"computed-{kind}", daemon=True).start()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not ready(settings, kind, k):
        time.sleep(0.05)
    state = progress(settings, kind, k)
    return state if state["state"] != "absent" else {"state": "computing", "done": 0.0, "step": ""}


def _quiet(settings: Settings, kind: str, k: str, make: Callable[[Path, Report], None]) -> None:
    with contextlib.suppress(Exception):  # a failure is recorded in the progress file
        compute(settings, kind, k, make)
