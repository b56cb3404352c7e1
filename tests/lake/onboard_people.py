"""A tiny outside file of person records, as another department would send it: not the
generated city, its own people (citizen IDs valid by GB 11643), CRLF line endings."""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

from zhijing.standards.citizen_id import make

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕晓东文斌雪梅子涵宇轩浩然欣怡思远"
DIVISIONS = ("430102", "430103", "430104", "430111", "330203", "330212")
PLACES = {"430102": "湖南省长沙市芙蓉区", "430103": "湖南省长沙市天心区", "430104": "湖南省长沙市岳麓区",
          "430111": "湖南省长沙市雨花区", "330203": "浙江省宁波市海曙区", "330212": "浙江省宁波市鄞州区"}
HEADER = ["记录编号", "姓名", "公民身份号码", "出生日期", "性别", "联系电话", "住址", "登记日期"]


def people(n: int, seed: int = 5) -> list[dict]:
    rng = random.Random(seed)
    names: set[str] = set()
    out = []
    for i in range(n):
        while (name := rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))) in names:
            pass
        names.add(name)
        div = rng.choice(DIVISIONS)
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        seq = rng.randrange(1, 999)
        out.append({"pid": i, "name": name, "id": make(div, born, seq), "born": born, "sex": "男" if seq % 2 else "女",
                    "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                    "address": f"{PLACES[div]}{rng.choice('东西南北')}{rng.randrange(1, 300)}号"})
    return out


def records(n_people: int = 120, seed: int = 5) -> tuple[list[list[str]], dict[str, int]]:
    """(rows with header, record id -> true person) — 1 to 4 records a person; some records
    carry no ID (phone only) and some no phone."""
    rng = random.Random(seed + 1)
    rows, truth = [HEADER], {}
    for p in people(n_people, seed):
        for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
            rid = f"R{len(truth) + 1:06d}"
            has_id = rng.random() > 0.15
            has_phone = rng.random() > 0.15 or not has_id
            rows.append([rid, p["name"], p["id"] if has_id else "", p["born"].strftime(rng.choice(("%Y-%m-%d", "%Y%m%d"))),
                         p["sex"], p["phone"] if has_phone else "", p["address"],
                         (date(2024, 1, 1) + timedelta(days=rng.randrange(300))).isoformat()])
            truth[rid] = p["pid"]
    return rows, truth


def write(path: Path, rows: list[list[str]], encoding: str = "utf-8", newline: str = "\r\n") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path
