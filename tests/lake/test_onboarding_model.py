"""``zhijing sources add`` proposes the model mappings (DESIGN §10, issue 19): what the
profiled 数据元 say a row is — a café session, a hotel stay, a call, a payment, a checkpoint
pass — so a new kind of file reaches trajectories and companions without hand-writing YAML.

Before, an internet café's register was proposed with no time field and no mapping, 经纬度
as a number and the café's name and address as two more person mentions carrying the
user's name and ID."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb
import pytest
from onboard_people import people, write

from zhijing.governance import standardize_sql as S
from zhijing.model.check import declared
from zhijing.sources.declarations import dump, load_file
from zhijing.sources.profile import profile_file, propose

T0 = datetime(2025, 3, 1, 8, 0)


def _times(rng: random.Random, n: int, fmt: str = "%Y/%m/%d %H:%M") -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        t = T0 + timedelta(days=rng.randrange(200), minutes=rng.randrange(900))
        out.append((t.strftime(fmt), (t + timedelta(minutes=rng.randrange(30, 300))).strftime(fmt)))
    return out


def _proposed(tmp_path, header: list[str], rows: list[list[str]], name: str = "dept"):
    spec = propose(profile_file(write(tmp_path / f"{name}.csv", [header, *rows], encoding="gbk")), name)
    out = tmp_path / f"{name}.yaml"
    out.write_text(dump(spec, "test"), encoding="utf-8")
    saved, problems = load_file(out, declared)  # the proposal is a valid declaration, model included
    assert not problems, problems
    return spec, saved[0], out.read_text(encoding="utf-8")


def test_an_internet_cafe_register_is_proposed_as_access_sessions(tmp_path):
    rng = random.Random(3)
    cafes = [("33020310000001", "星空网吧（中山路店）", "浙江省宁波市海曙区中山路12号", "121.551234,29.873456"),
             ("33021210000002", "极速网吧（学士路店）", "浙江省宁波市鄞州区学士路88号", "121.612345,29.812345")]  # fmt: skip
    persons = people(80)
    rows = []
    for i, (start, end) in enumerate(_times(rng, 300)):
        p, c = rng.choice(persons), rng.choice(cafes)
        rows.append([str(i + 1), p["id"], p["name"], c[0], c[1], c[2], c[3], start, end])
    header = ["序号", "证件号码", "姓名", "场所编码", "场所名称", "场所地址", "经纬度", "上机时间", "下机时间"]
    spec, saved, text = _proposed(tmp_path, header, rows, "netbar_login")
    elements = {f.name: f.element for f in spec.fields}
    assert elements["经纬度"] == "lonlat" and elements["场所编码"] == "place_code" and elements["场所名称"] != "name"
    assert [p.element_fields() for p in spec.persons] == [{"name": "姓名", "citizen_id": "证件号码"}]
    assert spec.time_field == "上机时间"
    [m] = saved.model
    assert (m.type, m.roles, m.time, m.end) == ("access", {"holder": "self"}, "上机时间", "下机时间")
    assert (m.place.kind, m.place.code, m.place.name, m.place.lon, m.place.lat) == ("netbar", "场所编码", "场所名称", "经纬度__lon", "经纬度__lat")
    assert "\nmodel:\n  - {type: access" in text


def test_a_register_with_no_unique_column_is_keyed_by_file_and_line(tmp_path):
    """The café register as the issue found it: no 序号, and the log-out time, unique in the
    file, was taken for the record key (element record_id) — the session lost its end."""
    rng = random.Random(4)
    persons = people(60)
    rows = [[p["id"], p["name"], "33020310000001", "星空网吧（中山路店）", "121.55,29.87", s, e]
            for p, (s, e) in zip((rng.choice(persons) for _ in range(400)), _times(rng, 400), strict=True)]  # fmt: skip
    spec, saved, _ = _proposed(tmp_path, ["证件号码", "姓名", "场所编码", "场所名称", "经纬度", "上机时间", "下机时间"], rows, "netbar")
    assert spec.key == "_line" and {f.name: f.element for f in spec.fields}["下机时间"] == "datetime"
    assert (saved.model[0].time, saved.model[0].end) == ("上机时间", "下机时间")


@pytest.mark.parametrize(("header", "row", "expect"), [
    (["流水号", "旅客姓名", "旅客身份证号", "旅馆编码", "入住时间", "退房时间"],
     lambda i, p, t: [f"L{i}", p["name"], p["id"], f"H{i % 3}", *t],
     {"type": "stay", "roles": {"guest": "self"}, "time": "入住时间", "end": "退房时间", "kind": "hotel", "code": "旅馆编码"}),
    (["话单编号", "主叫号码", "被叫号码", "开始时间"],
     lambda i, p, t: [f"C{i}", p["phone"], f"139{i:08d}", t[0]],
     {"type": "call", "roles": {"caller": "主叫号码", "callee": "被叫号码"}, "time": "开始时间"}),
    (["交易流水号", "收款账号", "付款账号", "金额", "交易时间"],
     lambda i, p, t: [f"T{i}", f"6222{i:012d}", f"6228{(i * 7) % 997:012d}", f"{100 + i}.50", t[0]],
     {"type": "payment", "roles": {"payer": "付款账号", "payee": "收款账号"}, "time": "交易时间"}),
    (["过车编号", "号牌号码", "卡口编号", "过车时间"],
     lambda i, p, t: [f"K{i}", f"浙B{i % 10}{1000 + i:04d}"[:7], f"KK{i % 5:03d}", t[0]],
     {"type": "pass", "roles": {"vehicle": "号牌号码"}, "time": "过车时间", "kind": "checkpoint", "code": "卡口编号"}),
])  # fmt: skip
def test_each_kind_of_register_gets_its_event_type(tmp_path, header, row, expect):
    rng = random.Random(5)
    persons = people(60)
    rows = [row(i, rng.choice(persons), t) for i, t in enumerate(_times(rng, 200, "%Y-%m-%d %H:%M:%S"))]
    _, saved, _ = _proposed(tmp_path, header, rows)
    m = saved.model[0]
    got = {"type": m.type, "roles": m.roles, "time": m.time, **({"end": m.end} if m.end else {}),
           **({"kind": m.place.kind, "code": m.place.code} if m.place and m.place.code else {})}  # fmt: skip
    assert got == expect
    if m.type == "payment":
        assert m.properties == {"amount": "金额"}


def test_a_file_without_time_and_place_gets_no_mapping_and_says_so(tmp_path):
    rows = [[str(i), p["name"], p["id"]] for i, p in enumerate(people(30))]
    spec, _, text = _proposed(tmp_path, ["编号", "姓名", "身份证号"], rows)
    assert spec.model == [] and spec.time_field is None and "model:" not in text


@pytest.mark.parametrize(("text", "lon", "lat", "why"), [
    ("121.551234,29.873456", 121.551234, 29.873456, None), ("121.55，29.87", 121.55, 29.87, None),
    ("29.87, 121.55", 121.55, 29.87, None), ("(121.5 29.8)", 121.5, 29.8, None),
    ("北纬29度", None, None, "bad_shape"), ("200,10", None, None, "out_of_range"), ("", None, None, None),
])  # fmt: skip
def test_lonlat_is_two_numbers(text, lon, lat, why):
    value_lon, value_lat, reason = S.lonlat("v")
    with duckdb.connect() as con:
        got = con.execute(f"SELECT {value_lon}, {value_lat}, {reason} FROM (SELECT $t AS v)", {"t": text}).fetchone()
    assert got == (lon, lat, why)


def test_a_mapping_may_name_the_two_columns_of_a_lonlat_field_and_no_other(tmp_path):
    rng = random.Random(9)
    rows = [[str(i), p["id"], p["name"], "121.5,29.8", t[0]] for i, (p, t) in enumerate(zip(people(30), _times(rng, 30), strict=True))]
    spec, _, text = _proposed(tmp_path, ["序号", "证件号码", "姓名", "坐标", "登记时间"], rows, "points")
    assert spec.model[0].place.lon == "坐标__lon"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("lat: 坐标__lat", "lat: 坐标__lt"), encoding="utf-8")
    assert any("model[0].place.lat: '坐标__lt' is not one of the declared fields" in str(p) for p in load_file(bad, declared)[1])


@pytest.mark.spark
def test_lonlat_reads_the_same_on_spark(spark_engine):
    """The clean job runs on DuckDB or Spark: the lonlat SQL, transpiled, gives the same columns."""
    import pyarrow as pa

    from zhijing.governance.engines.duckdb_engine import DuckDBEngine

    texts = ["121.551234,29.873456", "121.55，29.87", "29.87, 121.55", "(121.5 29.8)", "北纬29度", "200,10", "", None]
    value_lon, value_lat, reason = S.lonlat("v")
    got = []
    for eng in (DuckDBEngine(), spark_engine):
        eng.register_arrow("vals", pa.table({"i": list(range(len(texts))), "v": pa.array(texts, pa.string())}))
        got.append(eng.rows(f"SELECT i, {value_lon}, {value_lat}, {reason} FROM vals ORDER BY i"))
    assert [tuple(r) for r in got[0]] == [tuple(r) for r in got[1]]
