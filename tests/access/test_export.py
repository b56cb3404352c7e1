"""Exports (DESIGN.md §2.4): masked exactly like the API, watermarked with user, time and
purpose on the first and last line and an export ID on every row, refused below the
export clearance, and audited as a disclosure that names the export ID."""

from __future__ import annotations

import csv
import io

import duckdb

from zhijing.access.seed import DEMO_CASE
from zhijing.lake.store import current_files


def _master(settings) -> tuple[str, str]:
    files = current_files(settings, "entities", "persons_master")
    return duckdb.sql(f"SELECT master_id, citizen_id FROM read_parquet({files!r}) WHERE citizen_id IS NOT NULL "
                      "ORDER BY mentions DESC, master_id LIMIT 1").fetchall()[0]  # fmt: skip


def test_export_is_masked_watermarked_and_audited(resolved_city, make_api):
    from zhijing.access.audit.store import log_for
    from zhijing.access.seed import add_purpose, add_user
    from zhijing.config import get_settings

    settings = resolved_city[0]
    api = make_api(settings.home)
    s = get_settings()
    mid, cid = _master(s)
    url = f"/api/persons/{mid}/export?reason=移送检察院审查起诉"
    assert api.get(url, headers=api.headers("xingzhen01")).status_code == 403  # no purpose

    r = api.get(url, headers=api.headers("xingzhen01", DEMO_CASE))  # clearance 2 may export
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    export_id = r.headers["x-export-id"]
    lines = r.text.lstrip("\ufeff").splitlines()
    assert "xingzhen01" in lines[0] and DEMO_CASE in lines[0] and export_id in lines[0] and export_id in lines[-1]
    table = list(csv.DictReader(io.StringIO("\n".join(lines[1:-1]))))
    assert table and all(row["export_id"] == export_id for row in table)
    assert any(row["element"] == "citizen_id" and row["value"] == cid for row in table)
    assert any(row["section"] == "record" for row in table)

    # clearance 1 may read under its ticket but never export
    assert api.get(url, headers=api.headers("paichusuo01", "ticket:GD2026000001")).status_code == 403

    add_user(s, "neiqin01", "赵内勤", load_unit(s), "刑侦", "pw-neiqin-0001", "officer", 2, "officer")
    add_purpose(s, "case:EXPORT-T", "导出测试案", load_unit(s), ["neiqin01"])
    api.logins["neiqin01"] = "pw-neiqin-0001"
    ok = api.get(url, headers=api.headers("neiqin01", "case:EXPORT-T"))
    assert ok.status_code == 200 and ok.headers["x-export-id"] != export_id  # each export is its own

    events = [e for e in log_for(s).events(40) if e["operation"] == "disclose" and mid in e["records"]]
    assert {export_id, ok.headers["x-export-id"]} <= {e["query"].split()[3] for e in events}
    assert all(e["outcome"] == "allowed" and e["purpose"] for e in events)
    assert log_for(s).verify().ok  # every request's event signed by its commit


def load_unit(settings) -> str:
    from zhijing.access.guard import load_user

    return load_user(settings, "xingzhen01").unit
