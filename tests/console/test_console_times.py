"""The console shows every time in the deployment's zone and says so (issue 18, item 1): the
page names the zone, and ``zj.time`` formats an API time from its offset — never by cutting the
text, whatever the browser's own zone. The helpers run under Node (the browser tests need
Chromium; these only need the console's own script)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

APP = Path(__file__).parents[2] / "zhijing" / "console" / "static" / "app.js"
RUN = """
const fs = require("fs"), vm = require("vm");
const [zone, label] = process.argv.slice(1);
const store = { getItem: () => null, setItem() {}, removeItem() {} };
const page = { documentElement: { dataset: { zoneName: zone, zoneLabel: label, zoneLabelEn: label } },
  querySelectorAll: () => [], getElementById: () => null };
const ctx = vm.createContext({ document: page, localStorage: store, sessionStorage: store, window: { addEventListener() {} },
  location: {}, console });
vm.runInContext(fs.readFileSync(process.env.APP, "utf8") + "\\nglobalThis.zj = zj;", ctx);
const zj = ctx.zj, asked = JSON.parse(fs.readFileSync(0, "utf8"));
console.log(JSON.stringify({ time: asked.map(zj.time), day: asked.map(zj.day), chart: asked.map(zj.chartTime), tag: zj.zoneTag() }));
"""


def console_times(values: list[str | None], zone: str = "Asia/Shanghai", label: str = "北京时间 UTC+8", tz: str = "America/New_York") -> dict:
    """zj.time / day / chartTime of ``values`` with the page in ``zone``, in a browser whose own zone is ``tz``."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed")
    out = subprocess.run([node, "-e", RUN, zone, label], input=json.dumps(values), capture_output=True, text=True, check=True, timeout=60,
                         env={"APP": str(APP), "TZ": tz, "PATH": "/usr/bin:/bin"})  # fmt: skip
    return json.loads(out.stdout)


def test_a_time_is_shown_in_the_deployment_zone_from_its_offset():
    got = console_times(["2025-03-03T19:00:00Z", "2025-03-04T03:00:00+08:00", "2025-03-04 13:21:00+00", "2025-03-04T11:15:00+00:00",
                         "2025-03-04", None, "not a time"])  # fmt: skip
    # a check-in at 03:00 Beijing time (given in UTC, or with its offset); the café log-in written 21:21; a crowd window
    assert got["time"] == ["2025-03-04 03:00:00", "2025-03-04 03:00:00", "2025-03-04 21:21:00", "2025-03-04 19:15:00", "2025-03-04", "",
                           "not a time"]  # fmt: skip
    assert got["day"][:2] == ["2025-03-04", "2025-03-04"]
    three = 1741057200000  # Date.UTC(2025, 2, 4, 3): charts run with useUTC, so the axis reads 03:00
    assert got["chart"][:2] == [three, three]
    assert "北京时间 UTC+8" in got["tag"]


def test_another_deployment_zone_is_one_setting_away():
    got = console_times(["2025-03-03T19:00:00Z"], zone="Asia/Kolkata", label="Asia/Kolkata UTC+5:30", tz="UTC")
    assert got["time"] == ["2025-03-04 00:30:00"] and "UTC+5:30" in got["tag"]


def test_every_page_names_the_zone(make_api, settings, monkeypatch):
    api = make_api(settings.home)
    html = api.get("/persons").text
    assert 'data-zone-name="Asia/Shanghai"' in html and "北京时间 UTC+8" in html

    from zhijing.config import reset_settings

    monkeypatch.setenv("ZHIJING_TIMEZONE", "Asia/Kolkata")
    reset_settings()
    assert 'data-zone-name="Asia/Kolkata"' in api.get("/trajectory").text and "UTC+5:30" in api.get("/risk").text
