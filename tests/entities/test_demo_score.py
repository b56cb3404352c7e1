"""The demo says how right the person master is, against the truth the generator planted."""

from __future__ import annotations

import re

from rich.console import Console

from zhijing.demo import score_against_truth


def test_the_demo_prints_precision_recall_and_f1_against_the_planted_truth(resolved_city):
    settings, city, _ = resolved_city
    console = Console(record=True, width=300)
    score_against_truth(settings, city, console)
    text = console.export_text()
    f1 = [float(x) for x in re.findall(r"F1 ([01]\.\d{4})", text)]
    assert len(f1) == 2 and min(f1) > 0.98, text  # all records, and those with an ID or a phone
