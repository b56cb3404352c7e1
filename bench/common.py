"""Shared helpers for benchmarks: timing, peak memory of a child process, the machine."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "?")
    mem = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))) // 1024**2
    return f"{os.cpu_count()} cores {cpu}, {mem} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def run_child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON dict. Adds wall time and the
    child's peak RSS (MiB)."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return {**out, "wall_s": wall, "peak_mib_children": peak}


def write(name: str, text: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.md").write_text(text, encoding="utf-8")
    print(text)


def into_benchmarks(heading: str, text: str) -> None:
    """Replace the section of BENCHMARKS.md under ``heading`` (a ``## `` line) with ``text``, or append it."""
    import re

    path = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
    doc = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    doc = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", doc) if pattern.search(doc) else doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc, encoding="utf-8")
