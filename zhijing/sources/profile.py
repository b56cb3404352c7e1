"""Profile a department's file and propose its declaration (``zhijing sources add``).

What a clerk would check by eye, measured: the text encoding (GBK / GB18030 / UTF-8, with
or without BOM), line endings, delimiter, quoting and header; per column the value shapes
(``9{18}``, ``汉{3}``, ``9{4}-9{2}-9{2}``), how many values are filled and distinct, and
which standard data element (数据元, DESIGN.md §5) the column carries — with the share of
values that validate against that element's standard — and for dates the format the
department writes them in. Columns that name a person are grouped into person roles.

The file is read once in full by DuckDB (row count, fill, distinct counts) and judged on
a reservoir sample, so a 10⁶-row file profiles in seconds.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from zhijing.sources import model_proposal
from zhijing.sources.connectors.base import DEFAULT_LINE_CAP, quote_ident, sql_str
from zhijing.sources.connectors.encoding import detect_encoding, scan_text
from zhijing.sources.spec import LINE_KEY, DatasetSpec, FieldSpec, PersonRole
from zhijing.standards import citizen_id, phone, plate, uscc
from zhijing.standards.timeparse import order_of

SAMPLE_ROWS = 20_000
JUDGED_VALUES = 2_000  # distinct values per column the validators look at
NEAR_UNIQUE = 0.9  # a column whose estimated distinct count is this share of its filled rows is counted exactly
DELIMITERS = (",", "\t", "|", ";")
HEAD_BYTES = 256 << 10
PERSON = ("name", "citizen_id", "sex", "birth_date", "phone", "address", "name_pinyin")
IDENTIFYING = {"name", "citizen_id", "phone"}
NOT_A_KEY = ("datetime", "date", "birth_date", "lon", "lat", "lonlat", "amount", "number", "count", "duration_s")  # a person role needs one of these to be a mention

# header words that name an element (Chinese titles, GA pinyin abbreviations, English)
HINTS: dict[str, str] = {
    r"经纬度|坐标|lonlat|lnglat|latlng|^gps|location": "lonlat",
    r"经度|^jd$|^lon|_lon|^lng|longitude": "lon",
    r"纬度|^wd$|^lat$|^lat_|_lat$|latitude": "lat",
    r"(场所|地点|网吧|旅馆|酒店|宾馆|卡口|站点|基站|社区|小区|门店)(编码|代码|编号|id)|csbm|place_?(code|id)|site_?(code|id)|hotel_?code|checkpoint_?id|kkbh": "place_code",
    r"账号|账户$|卡号|zh$|account": "account_no",
    r"金额|交易额|amount|^je$": "amount",
    r"身份证|证件号|公民身份|sfz|gmsfhm|zjhm|id_?card|id_?no|citizen": "citizen_id",
    r"手机|电话|联系方式|lxdh|sjhm|dh$|phone|mobile|tel": "phone",
    r"号牌|车牌|hphm|plate": "plate",
    r"信用代码|tyshxydm|uscc": "uscc",
    r"出生|生日|csrq|birth|dob": "birth_date",
    r"性别|^xb$|sex|gender": "sex",
    r"拼音|pinyin": "name_pinyin",
    r"姓名|名字|^xm$|name": "name",
    r"住址|地址|住所|户籍地|居住地|^zz$|dz$|addr": "address",
    r"时间|sj$|time": "datetime",
    r"日期|rq$|date": "date",
    r"编号|序号|流水号|记录号|^id$|bh$|_id$|^no$": "record_id",
}
ELEMENT_WORDS = r"(公民身份号码|身份证号码?|证件号码?|手机号码?|联系电话|电话号码?|电话|姓名|名字|性别|出生日期|出生|住址|地址|号牌号码|车牌号?)"
# header words of an organisation or a kind, never of a person's name (来源单位, 旅馆名称, 案件类别)
NOT_A_PERSON = re.compile(r"单位|机构|部门|公司|企业|名称|站|所$|局|队|科室|类别|类型|民族|籍贯|国籍|职业|学历|状态")
# header words of a place or an organisation: its name, code or address is never a person's (场所名称, 旅馆地址, 单位地址)
PLACE_WORDS = re.compile(r"场所|网吧|网咖|旅馆|酒店|宾馆|门店|商户|卡口|单位|公司|企业|机构")
FEW_NAMES = 20  # a column of name-shaped values with fewer distinct values than this over the whole file is a category
SEX_VALUES = {"男", "女", "1", "2", "0", "9", "m", "f", "male", "female", "男性", "女性", "未知", "１", "２"}
NAME = re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fff·•・．. ]{1,7}$")
ADDRESS = re.compile(r"[\u4e00-\u9fff].*(省|市|区|县|镇|乡|街道|路|街|村|号|弄|巷|幢|栋|室|组)")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
LONLAT = re.compile(r"^[(\[]?\s*[+-]?\d{1,3}(\.\d+)?\s*[,，;；/\s]\s*[+-]?\d{1,3}(\.\d+)?\s*[)\]]?$")  # standardize_sql.LONLAT
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y",
                "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日%H时%M分")  # fmt: skip
DAY_FIRST, MONTH_FIRST = "%d/%m/%Y", "%m/%d/%Y"


@dataclass
class ColumnProfile:
    name: str
    filled: float  # share of rows with a value
    distinct: int  # exact for near-unique columns, else a HyperLogLog estimate (never above filled rows)
    max_length: int
    shapes: list[tuple[str, float]]  # most common value shapes with their share of the sample
    element: str
    valid: float | None = None  # share of sampled values that validate as ``element``
    format: str | None = None  # dates: the strftime format most values follow
    note: str | None = None


@dataclass
class FileProfile:
    file: str
    bytes: int
    rows: int
    encoding: str
    bom: bool
    line_endings: dict[str, int]
    delimiter: str
    quote: str
    quoted: bool  # some field is quoted
    header: bool
    columns: list[ColumnProfile] = field(default_factory=list)
    key: str | None = None
    key_unique: bool = True
    seconds: float = 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["columns"] = [{k: v for k, v in c.items() if v is not None} for c in d["columns"]]
        for c in d["columns"]:
            c["shapes"] = [[s, round(x, 3)] for s, x in c["shapes"]]
            for k in ("filled", "valid"):
                if k in c:
                    c[k] = round(c[k], 4)
        return d


# ---------------------------------------------------------------------------- shapes

# character classes, in order: the SQL twin computes them over the sample in one pass
CLASSES = (("[0-9]", "9"), ("[A-Za-z]", "A"), ("[\u4e00-\u9fff]", "汉"), ("[０-９]", "９"), ("\\s", "_"))


def classes_sql(expr: str) -> str:
    """SQL: each character of ``expr`` (first 64) replaced by its class."""
    out = f"left({expr}, 64)"
    for pattern, cls in CLASSES:
        out = f"regexp_replace({out}, {sql_str(pattern)}, {sql_str(cls)}, 'g')"
    return out


def run_length(classes: str) -> str:
    """``999999`` → ``9{6}``: a class string as a shape."""
    return re.sub(r"(.)\1+", lambda m: f"{m.group(1)}{{{len(m.group(0))}}}", classes)


def shape(value: str) -> str:
    """``110101199003070012`` → ``9{18}``; ``张三`` → ``汉{2}``; ``2024-03-05`` → ``9{4}-9{2}-9{2}``."""
    out = value[:64]
    for pattern, cls in CLASSES:
        out = re.sub(pattern, cls, out)
    return run_length(out)


# ---------------------------------------------------------------------------- dialect

def _sniff(head: str) -> tuple[str, bool, bool, list[str]]:
    """(delimiter, quoted?, header?, first row) from the first lines of the text."""
    lines = head.splitlines()[:200] or [""]

    def counts(delim: str) -> Counter:
        return Counter(len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))

    def score(delim: str) -> tuple[float, int]:
        c = counts(delim)
        width, n = c.most_common(1)[0]
        return (n / max(1, sum(c.values())) if width > 1 else 0.0, width)

    delim = max(DELIMITERS, key=score)
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
    first = [v.strip() for v in rows[0]] if rows else []
    quoted = any(f'{delim}"' in ln or ln.startswith('"') for ln in lines)
    return delim, quoted, _has_header(first, rows[1:50]), first


def _looks_like_data(v: str) -> bool:
    return bool(NUMBER.match(v) or citizen_id.normalize(v).ok or phone.normalize(v).ok or _date_format(v))


def _has_header(first: list[str], rest: list[list[str]]) -> bool:
    """A header names its columns: every name filled and distinct, none a data value, and
    either a known column word or values below that look unlike it."""
    if not first or any(not v for v in first[:-1]) or len(set(first)) < len(first):
        return False
    if any(_looks_like_data(v) for v in first):
        return False
    if any(_hint(v) for v in first):
        return True
    below = [r for r in rest if len(r) == len(first)]
    return any(_looks_like_data(v) for r in below for v in r) or not below


# ---------------------------------------------------------------------------- elements

def _hint(header: str) -> str | None:
    h = header.strip().lower()
    return next((element for pattern, element in HINTS.items() if re.search(pattern, h)), None)


def _format_regex(fmt: str) -> re.Pattern:
    """``%Y-%m-%d`` → a regex with named fields; fields written side by side are two digits."""
    parts = re.split(r"(%[YmdHMS])", fmt)
    out = []
    for i, p in enumerate(parts):
        if not p.startswith("%"):
            out.append(re.escape(p))
        elif p == "%Y":
            out.append(r"(?P<Y>\d{4})")
        else:
            packed = (i > 1 and parts[i - 1] == "") or (i + 1 < len(parts) - 1 and parts[i + 1] == "")
            out.append(f"(?P<{p[1]}>\\d{{{'2' if packed else '1,2'}}})")
    return re.compile("".join(out))


FORMAT_RE = {fmt: _format_regex(fmt) for fmt in DATE_FORMATS}
DATE_LIKE = re.compile(r"^\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}|^\d{8}(\d{6})?$")
YEAR_LAST = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$")  # 06/04/1982, 06.04.1982, 06-04-1982


def _parse(v: str, fmt: str) -> datetime | None:
    m = FORMAT_RE[fmt].fullmatch(v)
    if m is None:
        return None
    g = {k: int(x) for k, x in m.groupdict().items()}
    if not 1900 <= g["Y"] <= 2100:
        return None
    try:
        return datetime(g["Y"], g["m"], g["d"], g.get("H", 0), g.get("M", 0), g.get("S", 0))
    except ValueError:
        return None


def _date_format(v: str) -> str | None:
    if not DATE_LIKE.match(v):
        return None
    return next((fmt for fmt in DATE_FORMATS if _parse(v, fmt)), None)


def _dates(values: list[str]) -> tuple[float, str | None, str | None]:
    """(share parsed by some format, the dominant format, a note when day/month order is open)."""
    if not values:
        return 0.0, None, None
    formats = Counter(f for f in map(_date_format, values) if f)
    share = sum(formats.values()) / len(values)
    if not formats:
        return 0.0, None, None
    (best, n_best), note = formats.most_common(1)[0], None
    # the order of 06/04/1982 (or 06.04.1982) is told by the year-last values that read one way only
    year_last = [re.sub("[-.]", "/", v) for v in values if YEAR_LAST.match(v)]
    if year_last:
        day_first = sum(1 for v in year_last if _fits(v, DAY_FIRST))
        month_first = sum(1 for v in year_last if _fits(v, MONTH_FIRST))
        order = DAY_FIRST if day_first >= month_first else MONTH_FIRST
        if day_first == month_first:
            note = "day/month order cannot be told from the values (every day ≤ 12): check the format"
    if year_last and order_of(best):  # a column of year-last dates
        return max(day_first, month_first) / len(values), order, note
    if n_best < 0.95 * sum(formats.values()):
        # other styles (1982-04-06, 1982年4月6日) read one way whatever is declared: a mixed
        # column still declares the order of its year-last dates, or they would be lost
        mix = ", ".join(f"{f} {n / len(values):.0%}" for f, n in formats.most_common(3))
        return share, order if year_last else None, "; ".join(filter(None, (f"mixed formats: {mix}", note)))
    return share, best, note


def _fits(v: str, fmt: str) -> bool:
    return _parse(v, fmt) is not None


def _share(values: list[str], ok) -> float:
    return sum(1 for v in values if ok(v)) / len(values) if values else 0.0


VALIDATORS = {
    "citizen_id": lambda v: citizen_id.normalize(v).ok,
    "uscc": lambda v: uscc.normalize(v).ok,
    "plate": lambda v: plate.normalize(v).ok,
    "phone": lambda v: phone.normalize(v).ok,
    "sex": lambda v: v.strip().lower() in SEX_VALUES,
    "name": lambda v: bool(NAME.match(v.strip())),
    "address": lambda v: len(v) >= 5 and bool(ADDRESS.search(v)),
    # told by their header only (a number is not a longitude by its look): not in ORDER
    "lonlat": lambda v: bool(LONLAT.match(v.strip())),
    "lon": lambda v: bool(NUMBER.match(v.strip())) and abs(float(v)) <= 180,
    "lat": lambda v: bool(NUMBER.match(v.strip())) and abs(float(v)) <= 90,
    "place_code": lambda v: bool(re.fullmatch(r"[0-9A-Za-z_-]{1,32}", v.strip())),
    "account_no": lambda v: bool(re.fullmatch(r"\d{8,30}", re.sub(r"\s", "", v))),
    "amount": lambda v: bool(NUMBER.match(re.sub(r"[,，¥￥元\s]", "", v))),
}
ORDER = ("citizen_id", "uscc", "plate", "phone", "date", "sex", "name", "address")


def classify(header: str, values: list[str], distinct_ratio: float,
             distinct: int | None = None) -> tuple[str, float | None, str | None, str | None]:  # fmt: skip
    """(element, share valid, date format, note) for a column with these sampled values
    (``distinct``: distinct values over the whole file). Two-character department names
    (民政, 公安) look like personal names: a column is a person's name only if its header says
    so, or if its header names no organisation or kind and its values are many."""
    hint = _hint(header)
    shares: dict[str, float] = {e: _share(values, f) for e, f in VALIDATORS.items()}
    if hint != "name" and (NOT_A_PERSON.search(header) or (distinct is not None and distinct < FEW_NAMES)):
        shares["name"] = 0.0
    if "名称" in header:  # 场所名称 星空网吧（中山路店） reads like an address and is a name
        shares["address"] = 0.0
    date_share, fmt, note = _dates(values)
    shares["date"] = date_share
    hinted = "date" if hint in ("birth_date", "date", "datetime") else hint
    if hinted in shares and shares[hinted] >= 0.3:
        element = hinted
    else:
        element = next((e for e in ORDER if shares[e] >= 0.8), None)
        if element is None:
            numeric = _share(values, lambda v: bool(NUMBER.match(v)))
            if hint == "record_id" or (distinct_ratio > 0.98 and numeric < 1):
                return ("record_id" if hint == "record_id" or distinct_ratio > 0.98 else "text"), None, None, None
            if numeric >= 0.95:
                return ("code" if distinct_ratio > 0.98 else "number"), numeric, None, None
            return ("category" if distinct_ratio < 0.05 else "text"), None, None, None
    if element == "date":
        has_time = bool(fmt and "%H" in fmt)
        if hint == "birth_date" or (not has_time and hint != "date" and _mostly_past(values)):
            return "birth_date", date_share, fmt, note
        return ("datetime" if has_time or hint == "datetime" else "date"), date_share, fmt, note
    return element, shares[element], None, None


def _mostly_past(values: list[str]) -> bool:
    """Dates of birth: years spread over decades, all before a child could be registered
    (each value read in its own style: a column may mix them)."""
    parsed = [_parse(v, f) for v in values[:500] if (f := _date_format(v))]
    years = [d.year for d in parsed if d]
    return bool(years) and max(years) <= datetime.now().year - 1 and max(years) - min(years) >= 20


# ---------------------------------------------------------------------------- the profile

def _names(first: list[str], header: bool, width: int) -> list[str]:
    if not header:
        return [f"col{i + 1}" for i in range(width)]
    out = []
    for i, n in enumerate(first[:width]):
        n = n.strip().lstrip("\ufeff") or f"col{i + 1}"
        out.append(n if n not in out else f"{n}_{i + 1}")
    return out


def profile_file(path: Path, sample_rows: int = SAMPLE_ROWS) -> FileProfile:
    """Measure ``path`` (any encoding, any line endings); see the module docstring."""
    import time

    t0 = time.perf_counter()
    encoding = detect_encoding(path)
    with open(path, "rb") as fh:
        bom = fh.read(3) == b"\xef\xbb\xbf"
    with tempfile.TemporaryDirectory(prefix="zj-profile-") as tmp:
        scan = scan_text(path, encoding, DEFAULT_LINE_CAP, Path(tmp))
        with open(scan.path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        head_text = head[: head.rfind(b"\n") + 1 or len(head)].decode("utf-8", errors="replace").lstrip("\ufeff")
        delim, quoted, header, first = _sniff(head_text)
        trailing = header and len(first) > 1 and first[-1] == ""
        names = _names(first[:-1] if trailing else first, header, len(first) - (1 if trailing else 0))
        columns = names + (["__trailing__"] if trailing else [])
        cols = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in columns) + "}"
        reader = (f"read_csv({sql_str(str(scan.path))}, columns={cols}, header={str(header).lower()}, auto_detect=false, "
                  f"delim={sql_str(delim)}, quote='\"', escape='\"', ignore_errors=true, null_padding=true, "
                  f"max_line_size={DEFAULT_LINE_CAP + 1024})")  # fmt: skip
        with duckdb.connect() as con:
            con.execute("SET enable_progress_bar = false")
            con.execute(f"CREATE TEMP TABLE t AS SELECT {', '.join(quote_ident(n) for n in names)} FROM {reader}")
            stats = con.execute("SELECT count(*), " + ", ".join(
                f"count(nullif(trim({quote_ident(n)}), '')), approx_count_distinct(nullif(trim({quote_ident(n)}), '')), "
                f"coalesce(max(length({quote_ident(n)})), 0)" for n in names) + " FROM t").fetchone()  # fmt: skip
            counts = [tuple(int(x) for x in stats[1 + 3 * i : 4 + 3 * i]) for i in range(len(names))]
            counts = _exact_where_near_unique(con, names, counts)
            con.execute(f"CREATE TEMP TABLE s AS SELECT * FROM t USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE (7)")
            per_column = [_sampled(con, n) for n in names]
    rows = int(stats[0])
    prof = FileProfile(path.name, scan.size, rows, encoding, bom, scan.endings, delim, '"', quoted, header)
    for name, (judged, shapes), (filled, distinct, longest) in zip(names, per_column, counts, strict=True):
        ratio = distinct / filled if filled else 0.0
        element, valid, fmt, note = classify(name, judged, ratio, distinct)
        prof.columns.append(ColumnProfile(name, filled / rows if rows else 0.0, distinct, longest, shapes, element, valid, fmt, note))
    _choose_key(prof)
    prof.seconds = round(time.perf_counter() - t0, 2)
    return prof


def _exact_where_near_unique(con: duckdb.DuckDBPyConnection, names: list[str],
                             counts: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:  # fmt: skip
    """(filled, distinct, longest) with the distinct count made exact for every column whose
    HyperLogLog estimate is within NEAR_UNIQUE of its filled count: the estimate runs a few
    per cent high (3,048 distinct in 3,020 rows), and these are the columns where that shows
    and where the key is chosen. The others keep the estimate (an exact count of every column
    cost three times the CPU of the estimate)."""
    near = [i for i, (filled, distinct, _) in enumerate(counts) if filled and distinct >= NEAR_UNIQUE * filled]
    if not near:
        return counts
    exact = con.execute("SELECT " + ", ".join(f"count(DISTINCT nullif(trim({quote_ident(names[i])}), ''))" for i in near)
                        + " FROM t").fetchone()  # fmt: skip
    out = list(counts)
    for i, d in zip(near, exact, strict=True):
        out[i] = (counts[i][0], int(d), counts[i][2])
    return out


def _sampled(con: duckdb.DuckDBPyConnection, name: str) -> tuple[list[str], list[tuple[str, float]]]:
    """(distinct sampled values to judge, the three commonest shapes with their share)."""
    v = f"nullif(trim({quote_ident(name)}), '')"
    judged = [r[0] for r in con.execute(f"SELECT DISTINCT {v} AS v FROM s WHERE v IS NOT NULL LIMIT {JUDGED_VALUES}").fetchall()]
    top = con.execute(f"SELECT {classes_sql('v')} AS c, count(*) AS n, sum(count(*)) OVER () AS total FROM "
                      f"(SELECT {v} AS v FROM s) WHERE v IS NOT NULL GROUP BY c ORDER BY n DESC, c LIMIT 3").fetchall()  # fmt: skip
    return judged, [(run_length(c), n / total) for c, n, total in top]


def _choose_key(prof: FileProfile) -> None:
    """The record key: a filled, unique column, a declared id column first — never a time, a
    coordinate or an amount (a log-out time unique in 3,000 rows is still a time). With none,
    ``_line``: the row's file and line (records are never merged by a repeated value)."""
    def unique(c: ColumnProfile) -> bool:
        return c.filled > 0.999 and c.distinct >= 0.98 * prof.rows  # a few repeated rows (duplicates ingest drops) still key

    ranked = sorted((c for c in prof.columns if c.element not in NOT_A_KEY),
                    key=lambda c: (c.element != "record_id", not unique(c), c.element in PERSON, -c.distinct))  # fmt: skip
    if not ranked or not unique(ranked[0]):
        prof.key, prof.key_unique = LINE_KEY, True
        return
    key = ranked[0]
    if key.element not in ("record_id",) and key.element not in PERSON:
        key.element = "record_id"
    prof.key, prof.key_unique = key.name, True


# ---------------------------------------------------------------------------- the proposal

def _role_of(header: str) -> str:
    """``报案人姓名`` → ``报案人``; ``姓名`` → ``self``."""
    rest = re.sub(ELEMENT_WORDS, "", header).strip("_- ")
    return rest or "self"


def person_roles(columns: list[ColumnProfile]) -> list[PersonRole]:
    """Group person columns into roles by what their headers say beside the element word;
    a role needs a name or an identifier to be a mention."""
    people = [c for c in columns if c.element in PERSON and not PLACE_WORDS.search(c.name)]
    counts = Counter(c.element for c in people)
    roles: dict[str, dict[str, str]] = {}
    for c in people:
        role = _role_of(c.name) if counts[c.element] > 1 else "self"
        roles.setdefault(role, {}).setdefault(c.element, c.name)
    if len(roles) > 1 and "self" in roles and not IDENTIFYING & set(roles["self"]):
        # a lone shared column (one address) belongs to every role; a self with a name or an
        # identifier is a person of its own
        shared = roles.pop("self")
        for r in roles.values():
            for e, f in shared.items():
                r.setdefault(e, f)
    return [PersonRole(role=r, **els) for r, els in roles.items() if IDENTIFYING & set(els)]


def propose(prof: FileProfile, name: str, title: str | None = None, owner: str = "未登记") -> DatasetSpec:
    """The declaration ``zhijing sources add`` proposes for a profiled file."""
    fields = []
    for c in prof.columns:
        note = c.note or (f"{c.valid:.1%} of sampled values valid" if c.valid is not None else None)
        fields.append(FieldSpec(name=c.name, element=c.element, format=c.format, note=note))  # type: ignore[arg-type]
    roles = person_roles(prof.columns)
    elements = {c.element for c in prof.columns}
    pi = "sensitive" if "citizen_id" in elements else ("general" if roles else "none")
    spec = DatasetSpec(
        name=name, title=title or name, owner=owner, format="csv", path=f"{name}/*{Path(prof.file).suffix or '.csv'}",
        encoding="utf-8" if prof.encoding in ("utf-8", "ascii") else prof.encoding, key=prof.key or prof.columns[0].name,
        grade="重要" if roles else "一般", pi=pi, retention_days=3650, delimiter=prof.delimiter, quote=prof.quote,
        header=prof.header, fields=fields, persons=roles, profile=prof.as_dict(),
    )  # fmt: skip
    spec.model = model_proposal.propose(spec)
    # the time an event happened is the dataset's time (timeliness, bad_time) when it is a date-time
    spec.time_field = next((m.time for m in spec.model if m.time and spec.element_of(m.time) == "datetime"), None)
    return spec
