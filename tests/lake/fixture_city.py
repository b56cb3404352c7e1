"""A tiny city in the exact shape of city_sources.yaml, with planted faults.

Used until (and beside) the real generator: every format, both encodings, and the faults
governance must handle. ``MALFORMED`` lists (dataset, record_id or line) that must end in
quarantine; ``DUPLICATES`` counts exact repeats per dataset.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

from zhijing.sources.spec import load_spec
from zhijing.standards import citizen_id

SPEC = load_spec()
N = 12  # good rows per dataset
NAMES = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "黄艳", "赵勇", "吴杰", "周涛", "徐明", "孙丽"]


def cid(i: int) -> str:
    return citizen_id.make("330203", date(1970 + i, 1 + i % 12, 1 + i % 27), 100 + i)


def old15(i: int) -> str:
    full = cid(i)
    return full[:6] + full[8:17]


def typo(s: str) -> str:
    return s[:-1] + ("0" if s[-1] != "0" else "1")


BASE = datetime(2024, 3, 5, 13, 4, 5)


def _value(element: str, i: int, fname: str) -> str:
    t = BASE + timedelta(hours=7 * i)
    return {
        "record_id": f"R{i:05d}",
        "citizen_id": cid(i) if i % 4 else old15(i),
        "name": NAMES[i % len(NAMES)],
        "name_pinyin": "ZHANG/WEI",
        "sex": "1" if i % 2 else "2",
        "birth_date": f"{1970 + i}{1 + i % 12:02d}{1 + i % 27:02d}",
        "phone": f"+86138{i:08d}" if i % 3 == 0 else f"139{i:08d}",
        "address": f"浙江省宁波市海曙区中山西路{i}号",
        "division_code": "330203",
        "plate": f"浙B{i:05d}" if i % 5 else f"浙b·{i:05d}",
        "vin": f"LSVAU2180N{i:07d}",
        "uscc": "91330203MA2AXXXX0X",
        "company_name": "明州贸易有限公司",
        "datetime": [t.strftime("%Y-%m-%d %H:%M:%S"), t.strftime("%Y/%m/%d %H:%M"), t.strftime("%Y%m%d%H%M%S"),
                     f"{t.year}年{t.month}月{t.day}日"][i % 4],
        "date": t.strftime("%Y-%m-%d"),
        "lon": "121.55", "lat": "29.87",
        "place_code": f"P{i:04d}",
        "amount": "1,234.50" if i % 2 else "88.00",
        "account_no": f"6222 0000 {i:04d}",
        "duration_s": str(30 + i), "count": str(i % 3), "number": str(40 + i),
        "text": f"记录{i}", "category": "甲", "code": f"C{i:03d}",
    }[element]  # fmt: skip


def rows(name: str) -> list[dict[str, str]]:
    spec = SPEC.dataset(name)
    out = []
    for i in range(N):
        row = {f.name: _value(f.element, i, f.name) for f in spec.fields}
        row[spec.key] = f"{name[:3].upper()}{i:05d}"
        if spec.time_field:
            t = BASE + timedelta(hours=7 * i)
            if name == "checkpoint_read" or name == "call_record":
                row[spec.time_field] = str(int(t.timestamp() * 1000))
            elif name == "door_access":
                row[spec.time_field] = str(int(t.timestamp()))
        out.append(row)
    return out


def _faulty(name: str) -> tuple[list[dict[str, str]], list[str]]:
    """Rows with faults: (rows, record ids that must be quarantined)."""
    spec = SPEC.dataset(name)
    base = rows(name)
    bad = dict(base[1])
    bad[spec.key] = ""  # missing key -> quarantine
    extra = [bad]
    malformed = []
    if spec.time_field:
        t = dict(base[2])
        t[spec.key] = "BADTIME01"
        t[spec.time_field] = "下周二"
        extra.append(t)
        malformed.append("BADTIME01")
    typoed = dict(base[3])
    typoed[spec.key] = "TYPO01"
    for f in spec.fields:
        if f.element == "citizen_id":
            typoed[f.name] = typo(cid(3))  # nulled with __raw, row stays clean
    extra.append(typoed)
    return base + extra + [dict(base[0])], malformed  # last: an exact duplicate


def _csv_text(fields: list[str], data: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(fields)
    for r in data:
        w.writerow([r.get(f, "") for f in fields])
    return buf.getvalue()


def write_city(sources: Path) -> dict:
    """Write every dataset; return facts the tests check against."""
    facts: dict = {"malformed": {}, "duplicates": {}, "bad_lines": {}}
    db = sources / "police.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    for spec in SPEC.datasets:
        data, malformed = _faulty(spec.name)
        facts["malformed"][spec.name] = malformed
        facts["duplicates"][spec.name] = 1
        fields = spec.field_names
        path = sources / spec.path.replace("*", "2024-03")
        path.parent.mkdir(parents=True, exist_ok=True)
        if spec.format == "csv":
            text = _csv_text(fields, data)
            text += ",".join(["坏行"] * (len(fields) - 2)) + "\n"  # wrong column count
            facts["bad_lines"][spec.name] = 1
            path.write_bytes(text.encode(spec.encoding or "utf-8"))
        elif spec.format in ("jsonl", "stream"):
            lines = [json.dumps(r, ensure_ascii=False) for r in data] + ['{"truncated": ']
            facts["bad_lines"][spec.name] = 1
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        elif spec.format == "excel":
            wb = Workbook()
            ws = wb.active
            ws.title = spec.sheet or "Sheet1"
            ws.append(fields)
            for r in data:
                ws.append([_excel_cell(spec, f, r.get(f)) for f in fields])
            wb.save(path)
            facts["bad_lines"][spec.name] = 0
        elif spec.format == "sqlite":
            with sqlite3.connect(db) as con:
                cols = ", ".join(f'"{f}" TEXT' for f in fields)
                con.execute(f'CREATE TABLE IF NOT EXISTS "{spec.table}" ({cols})')
                con.executemany(
                    f'INSERT INTO "{spec.table}" VALUES ({", ".join("?" * len(fields))})',
                    [[r.get(f) for f in fields] for r in data],
                )
            facts["bad_lines"][spec.name] = 0
    _reference(sources)
    return facts


def _excel_cell(spec, field: str, value: str | None):
    if field == spec.time_field and value and value[:4].isdigit() and "-" in value:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S") if len(value) == 19 else value
    return value


def _reference(sources: Path) -> None:
    for ref in SPEC.reference:
        path = sources / ref.path
        path.parent.mkdir(parents=True, exist_ok=True)
        if ref.format == "geojson":
            doc = {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"code": "330203", "name": "海曙区"},
                 "geometry": {"type": "Point", "coordinates": [121.55, 29.87]}}]}  # fmt: skip
            path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        else:
            path.write_text("code,name\nA1,示例\nA2,示例二\n", encoding="utf-8")
