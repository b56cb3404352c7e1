"""Issue 18 item 6: the demo's passwords are printed once and kept nowhere in clear."""

from __future__ import annotations

from pathlib import Path

from zhijing.access import seed
from zhijing.config import Settings


def _files_holding(home: Path, secrets: list[str]) -> list[str]:
    found = []
    for f in home.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            found += [f"{f.relative_to(home)}: {s[:5]}…" for s in secrets if s.encode() in data]
    return found


def test_no_file_under_the_home_holds_a_demo_password(tmp_path):
    settings = Settings(home=tmp_path)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    legacy = settings.state_dir / "demo_logins.txt"
    legacy.write_text("admin\tzj-old-clear-text")  # what an older version left behind
    first = [p for _, p, _ in seed.seed_demo(settings)]
    second = [p for _, p, _ in seed.seed_demo(settings)]  # seeding again: new passwords, printed again
    assert len(set(first + second)) == len(first) * 2
    assert _files_holding(tmp_path, [*first, *second, "zj-old-clear-text"]) == []
    assert not legacy.exists()
