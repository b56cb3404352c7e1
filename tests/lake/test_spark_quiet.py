"""Issue 18 item 10: with ``--engine spark`` the terminal shows our output, not Spark's stage
progress bars and WARN lines (they are written by the JVM to the process's stderr, so the
check runs a process of its own and reads what it wrote)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

QUERY = """
from zhijing.governance.engines.spark_engine import session
print(session().range(0, 100_000_000, numPartitions=4).selectExpr("sum(id * 3 % 7)").collect()[0][0])
"""


@pytest.mark.spark
def test_a_spark_session_prints_no_stage_bars_and_no_warnings(tmp_path):
    env = {**os.environ, "ZHIJING_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", QUERY], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    printed = out.stdout + out.stderr
    assert "[Stage" not in printed and " WARN " not in printed, printed[:2000]
    assert out.stdout.strip() == "299999997"
