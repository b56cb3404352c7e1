"""The profiler behind ``zhijing sources add``: what it finds in a file is what the file is."""

from __future__ import annotations

import pytest
from onboard_people import HEADER, records, write

from zhijing.sources.declarations import dump, load_file
from zhijing.sources.profile import person_roles, profile_file, propose, shape

ELEMENTS = {"记录编号": "record_id", "姓名": "name", "公民身份号码": "citizen_id", "出生日期": "birth_date", "性别": "sex",
            "联系电话": "phone", "住址": "address", "登记日期": "date"}  # fmt: skip


@pytest.mark.parametrize(
    ("encoding", "newline", "delimiter", "expect_encoding"),
    [("gbk", "\r\n", ",", "gb18030"), ("utf-8-sig", "\n", ";", "utf-8"), ("utf-8", "\r", "\t", "utf-8")],
)
def test_dialect_and_elements_are_found(tmp_path, encoding, newline, delimiter, expect_encoding):
    rows, truth = records(n_people=60)
    text = newline.join(delimiter.join(r) for r in rows) + newline
    path = tmp_path / "people.csv"
    path.write_bytes(text.encode(encoding))
    p = profile_file(path)
    assert (p.encoding, p.bom, p.delimiter, p.header, p.rows) == (expect_encoding, encoding == "utf-8-sig", delimiter, True, len(truth))
    ending = {"\r\n": "crlf", "\n": "lf", "\r": "cr"}[newline]
    assert p.line_endings[ending] == len(truth) + 1
    assert {c.name: c.element for c in p.columns} == ELEMENTS and p.key == "记录编号" and p.key_unique
    by = {c.name: c for c in p.columns}
    assert by["公民身份号码"].valid == 1.0 and by["姓名"].valid == 1.0
    assert ("9{18}", pytest.approx(by["公民身份号码"].shapes[0][1])) == by["公民身份号码"].shapes[0]


def test_no_header_is_told_and_columns_are_numbered(tmp_path):
    rows, _ = records(n_people=30)
    p = profile_file(write(tmp_path / "x.csv", rows[1:]))
    assert not p.header and [c.name for c in p.columns][:2] == ["col1", "col2"]
    assert [c.element for c in p.columns] == list(ELEMENTS.values())


def test_day_month_order_is_never_guessed_silently(tmp_path):
    rows = [["编号", "姓名", "出生日期"]] + [[f"N{i}", "张三丰", f"0{1 + i % 9}/0{1 + i % 8}/1982"] for i in range(40)]
    p = profile_file(write(tmp_path / "a.csv", rows))
    born = p.columns[2]
    assert born.element == "birth_date" and born.format == "%d/%m/%Y" and "cannot be told" in born.note
    rows = [["编号", "姓名", "出生日期"]] + [[f"N{i}", "张三丰", f"{13 + i % 15}/0{1 + i % 8}/1982"] for i in range(40)]
    born = profile_file(write(tmp_path / "b.csv", rows)).columns[2]
    assert born.format == "%d/%m/%Y" and born.note is None


@pytest.mark.parametrize("sep", ["/", ".", "-"])
def test_a_column_of_four_date_styles_still_declares_its_day_first_order(tmp_path, sep):
    """ISO most often, then day-first, 年月日 and compact: the other styles read one way, so
    the year-last dates' order is declared rather than every 06/04/1982 (06.04.1982) lost."""
    styles = ["1982-04-{:02d}", "{:02d}" + sep + "04" + sep + "1982", "1982年4月{}日", "198204{:02d}", "1982-05-{:02d}"]
    rows = [["编号", "姓名", "出生日期"]] + [[f"N{i}", "张三丰", styles[i % 5].format(1 + i % 28)] for i in range(100)]
    born = profile_file(write(tmp_path / "a.csv", rows)).columns[2]
    assert born.element == "birth_date" and born.format == "%d/%m/%Y" and "mixed formats" in born.note


def test_two_roles_are_told_apart_by_their_headers(tmp_path):
    rows, _ = records(n_people=20)
    header = ["编号", "报案人姓名", "报案人身份证号", "嫌疑人姓名", "嫌疑人身份证号", "发案地址"]
    data = [[r[0], r[1], r[2], rows[-1 - i][1], rows[-1 - i][2], r[6]] for i, r in enumerate(rows[1:])]
    p = profile_file(write(tmp_path / "case.csv", [header] + data))
    roles = {r.role: r.element_fields() for r in person_roles(p.columns)}
    assert roles == {"报案人": {"name": "报案人姓名", "citizen_id": "报案人身份证号", "address": "发案地址"},
                     "嫌疑人": {"name": "嫌疑人姓名", "citizen_id": "嫌疑人身份证号", "address": "发案地址"}}  # fmt: skip


def test_the_proposal_is_a_valid_declaration(tmp_path):
    rows, _ = records(n_people=20)
    spec = propose(profile_file(write(tmp_path / "p.csv", rows)), "visitors")
    out = tmp_path / "visitors.yaml"
    out.write_text(dump(spec, "test"), encoding="utf-8")
    saved, problems = load_file(out)
    assert not problems and saved[0].field_names == HEADER and saved[0].persons[0].citizen_id == "公民身份号码"
    assert saved[0].profile["rows"] == len(rows) - 1


def test_shapes():
    assert [shape(v) for v in ("110101199003070012", "张三", "2024-03-05", "京A12345")] == ["9{18}", "汉{2}", "9{4}-9{2}-9{2}", "汉A9{5}"]


def test_a_department_column_is_not_the_persons_name(tmp_path):
    """民政 / 公安 are two Chinese characters like 张三: a column of five department names (its
    header says 单位) was taken for the person's name and the role named after it — every
    record of a department became one person. (A name column whose header says nothing is
    still found by its many values: ``test_no_header_is_told_and_columns_are_numbered``.)"""
    rows, _ = records(n_people=60)
    depts = ("民政", "公安", "卫健", "人社", "教育")
    data = [[depts[i % 5], *r] for i, r in enumerate(rows[1:])]
    p = profile_file(write(tmp_path / "multi.csv", [["来源单位", *rows[0]]] + data))
    by = {c.name: c.element for c in p.columns}
    assert by["来源单位"] == "category" and by["姓名"] == "name"
    few = [["编号", "科室", "经办"]] + [[f"N{i}", depts[i % 5], ("王芳", "李强")[i % 2]] for i in range(200)]
    assert [c.element for c in profile_file(write(tmp_path / "few.csv", few)).columns][1:] == ["category", "category"]
    assert [(r.role, r.name) for r in person_roles(p.columns)] == [("self", "姓名")]
