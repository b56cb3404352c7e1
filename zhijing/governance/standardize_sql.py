"""The data elements of DESIGN.md §5 as SQL: one expression builder per element.

These are the SQL twins of ``zhijing.standards`` (the reference implementations): same
cleaning, same checks, same reason codes, so a job can standardize millions of rows inside
DuckDB or Spark without a Python call per row. The SQL is written in DuckDB's dialect
with portable functions only (regexes in the RE2/Java common subset, integer arithmetic
for calendars and time zones); ``engines.base`` transpiles it to Spark with SQLGlot and
expands the few ``zj_*`` placeholders whose spelling differs between engines.

Known, documented divergences from the Python reference (inputs departments do not send):
digits of scripts other than ASCII and full-width, and ISO 8601 forms beyond
``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH[:MM]]`` (week dates, hour-only times, arbitrary
separators) are treated as invalid here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from zhijing.standards import citizen_id as ref_cid
from zhijing.standards import phone as ref_phone
from zhijing.standards import plate as ref_plate
from zhijing.standards import timeparse as ref_time
from zhijing.standards import uscc as ref_uscc
from zhijing.standards.divisions import divisions


def lit(value: str) -> str:
    """A SQL string literal (DuckDB spelling; SQLGlot re-escapes for Spark)."""
    return "'" + value.replace("'", "''") + "'"


def _re_class(chars: str) -> str:
    """A regex character class body naming each char by code point (RE2 and Java agree)."""
    return "".join(c if c.isalnum() and c.isascii() else f"\\x{{{ord(c):x}}}" for c in chars)


# Python's ``\s`` / ``str.strip()`` whitespace, spelled for RE2 and Java.
WHITESPACE = "".join(chr(i) for i in range(0x3001) if chr(i).isspace())
WS = f"[{_re_class(WHITESPACE)}]"
FULLWIDTH_DIGITS = "０１２３４５６７８９"
FULLWIDTH_ASCII = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH_ASCII = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
FULLWIDTH_ALNUM = "".join(chr(c) for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)))
ASCII_ALNUM = "".join(chr(c) for c in (*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B)))
GARBAGE = "[" + _re_class("".join(chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)) + "\ufffd") + "]"


def strip(e: str) -> str:
    """Python's ``str.strip()`` (the replace only runs on values with edge whitespace: a
    match is a cheap DFA scan, a replace is not)."""
    return f"CASE WHEN {matches(e, f'^{WS}|{WS}$')} THEN regexp_replace({e}, {lit(f'^{WS}+|{WS}+$')}, '', 'g') ELSE {e} END"


def blank(e: str) -> str:
    """True when the value is missing: NULL or only whitespace (the reference's 'missing')."""
    return f"({e} IS NULL OR {matches(e, f'^{WS}*$')})"


def replace_re(e: str, pattern: str, replacement: str = "") -> str:
    """``regexp_replace(e, pattern, replacement, 'g')``, run only on values that match."""
    return f"CASE WHEN {matches(e, pattern)} THEN regexp_replace({e}, {lit(pattern)}, {lit(replacement)}, 'g') ELSE {e} END"


def translate_some(e: str, source: str, target: str) -> str:
    """``translate(e, source, target)``, run only on values holding one of ``source``'s
    characters (translate is slow per row; most values hold none)."""
    return f"CASE WHEN {matches(e, '[' + _re_class(source) + ']')} THEN translate({e}, {lit(source)}, {lit(target)}) ELSE {e} END"


def text(e: str) -> str:
    """Plain text elements: trimmed, empty -> NULL."""
    return f"nullif({strip(e)}, '')"


def address_text(e: str) -> str:
    """Addresses: fullwidth digits and letters as ASCII (２６５号２２幢 is 265号22幢), trimmed."""
    return text(translate_some(e, FULLWIDTH_ALNUM, ASCII_ALNUM))


def matches(e: str, pattern: str) -> str:
    return f"regexp_matches({e}, {lit(pattern)})"


def extract(e: str, pattern: str, group: int) -> str:
    return f"regexp_extract({e}, {lit(pattern)}, {group})"


def groups(e: str, pattern: str, n: int) -> str:
    """The capture groups 1..n of ``pattern`` as a struct {g1, .., gn} ('' when a group is
    unmatched) from one regex run; ``engines.base`` spells it for Spark."""
    names = ", ".join(f"'g{i}'" for i in range(1, n + 1))
    return f"regexp_extract({e}, {lit(pattern)}, [{names}])"


def in_list(e: str, values: list[str]) -> str:
    return f"{e} IN ({', '.join(lit(v) for v in sorted(values))})"


def fdiv(a: str, m: int) -> str:
    """Floor division of integers (SQL ``//`` / ``DIV`` truncate toward zero)."""
    return f"(({a}) - ((({a}) % {m}) + {m}) % {m}) // {m}"


# ---------------------------------------------------------------------------- calendars

def days_in_month(y: str, m: str) -> str:
    leap = f"(({y}) % 4 = 0 AND (({y}) % 100 <> 0 OR ({y}) % 400 = 0))"
    return f"(CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END)"


def valid_date(y: str, m: str, d: str) -> str:
    return f"({y} BETWEEN 1 AND 9999 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {days_in_month(y, m)})"


def days_from_civil(y: str, m: str, d: str) -> str:
    """Days since 1970-01-01 of a proleptic Gregorian date (y >= 1), integer-only."""
    yy = f"({y} - CASE WHEN {m} <= 2 THEN 1 ELSE 0 END)"
    era = f"({yy} // 400)"
    yoe = f"({yy} - {era} * 400)"
    doy = f"((153 * (({m} + 9) % 12) + 2) // 5 + {d} - 1)"
    doe = f"({yoe} * 365 + {yoe} // 4 - {yoe} // 100 + {doy})"
    return f"({era} * 146097 + {doe} - 719468)"


# ---------------------------------------------------------------------------- time zone

@lru_cache(maxsize=4)
def transitions(zone: str = "Asia/Shanghai") -> list[tuple[int, int, int]]:
    """(UTC epoch second, offset before, offset after) of every change of ``zone``'s UTC
    offset 1850-2100, from the same tz database the Python reference uses."""
    tz = ZoneInfo(zone)
    off = lambda t: int(t.astimezone(tz).utcoffset().total_seconds())  # noqa: E731
    out, t = [], datetime(1850, 1, 1, tzinfo=UTC)
    before = off(t)
    while t.year < 2100:
        t2 = t + timedelta(days=1)
        if off(t2) != before:
            lo, hi = t, t2
            while (hi - lo).total_seconds() > 1:
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if off(mid) == before else (lo, mid)
            after = off(hi)
            out.append((int(hi.timestamp()), before, after))
            before = after
        t = t2
    return out


def offset_at_utc(sec: str, zone: str) -> str:
    """UTC offset (seconds) of ``zone`` at a UTC epoch second."""
    trans = transitions(zone)
    if not trans:
        return "CAST(0 AS BIGINT)"
    # the first arm catches the present (after the last transition) in one comparison
    whens = " ".join(f"WHEN {sec} < {t} THEN {o1}" for t, o1, _ in trans)
    return f"CAST(CASE WHEN {sec} >= {trans[-1][0]} THEN {trans[-1][2]} {whens} ELSE {trans[-1][2]} END AS BIGINT)"


def offset_at_local(sec: str, zone: str) -> str:
    """UTC offset of a local wall time (as epoch-like seconds), resolving gaps and repeats
    the way Python does with fold=0: the offset in force before the transition."""
    trans = transitions(zone)
    if not trans:
        return "CAST(0 AS BIGINT)"
    last = trans[-1][0] + max(trans[-1][1], trans[-1][2])
    whens = " ".join(f"WHEN {sec} < {t + max(o1, o2)} THEN {o1}" for t, o1, o2 in trans)
    return f"CAST(CASE WHEN {sec} >= {last} THEN {trans[-1][2]} {whens} ELSE {trans[-1][2]} END AS BIGINT)"


# ---------------------------------------------------------------------------- times

_D = "[0-9]"
SEP = rf"^({_D}{{4}})[-/.]({_D}{{1,2}})[-/.]({_D}{{1,2}})(?:[ T]({_D}{{1,2}}):({_D}{{2}})(?::({_D}{{2}}))?)?$"
# the zero-padded subset of SEP: its digits sit at fixed positions (no capture groups needed)
SEP_FIXED = rf"^{_D}{{4}}[-/.]{_D}{{2}}[-/.]{_D}{{2}}(?:[ T]{_D}{{2}}:{_D}{{2}}(?::{_D}{{2}})?)?$"
COMPACT = rf"^({_D}{{4}})({_D}{{2}})({_D}{{2}})(?:({_D}{{2}})({_D}{{2}})({_D}{{2}})?)?$"
CHINESE = (
    rf"^({_D}{{4}})年({_D}{{1,2}})月({_D}{{1,2}})日(?:{WS}*({_D}{{1,2}})[时:]({_D}{{1,2}})分?(?:({_D}{{1,2}})秒?)?)?$"
)
YEAR_LAST = rf"^({_D}{{1,2}})[-/.]({_D}{{1,2}})[-/.]({_D}{{4}})(?:[ T]({_D}{{1,2}}):({_D}{{2}})(?::({_D}{{2}}))?)?$"
NUMBER = rf"^{_D}+(?:\.{_D}+)?$"
ISO = (
    rf"^({_D}{{4}})-({_D}{{2}})-({_D}{{2}})[T ]({_D}{{2}}):({_D}{{2}})(?::({_D}{{2}})(?:\.({_D}{{1,6}}))?)?"
    rf"(Z|[+-]{_D}{{2}}(?::?{_D}{{2}})?)?$"
)
GROUPS6 = tuple(f"g{i}" for i in range(1, 7))
FIXED_AT = ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2), (18, 2))  # (start, width) of SEP_FIXED's fields
MIN_SEC = int(datetime(ref_time.MIN_YEAR, 1, 1, tzinfo=UTC).timestamp())
MAX_SEC = int(datetime(ref_time.MAX_YEAR + 1, 1, 1, tzinfo=UTC).timestamp())
EXCEL_EPOCH_US = int((ref_time.EXCEL_EPOCH.replace(tzinfo=UTC)).timestamp()) * 1_000_000


class TimeColumns:
    """Staged columns that parse one source field into a UTC instant (microseconds).

    ``stages()`` gives, in order, the helper columns each stage adds (a stage may only use
    columns of earlier stages); ``us`` / ``reason`` name the results.
    """

    def __init__(self, source: str, prefix: str, zone: str = "Asia/Shanghai", order: str | None = None) -> None:
        """``order``: how a year-last date (06/04/1982) is read, ``dmy`` / ``mdy`` as the
        source declares it (``timeparse.order_of``); None reads only what cannot be wrong."""
        self.src, self.p, self.zone, self.order = source, prefix, zone, order
        self.us = f"{prefix}us"
        self.reason = f"{prefix}why"

    def col(self, name: str) -> str:
        return f"{self.p}{name}"

    def _civil(self, names: tuple[str, ...], zone: str | None = None) -> tuple[str, str]:
        """(valid?, local epoch seconds) of y, mo, d, h, mi, s columns (+ optional offset text)."""
        y, mo, d, h, mi, s = (self.col(n) for n in names)
        hh, mm, ss = (f"coalesce({v}, 0)" for v in (h, mi, s))
        ok = f"({valid_date(y, mo, d)} AND {hh} < 24 AND {mm} < 60 AND {ss} < 60)"
        if zone is not None:
            z = self.col(zone)
            z_h = f"CAST(substr({z}, 2, 2) AS BIGINT)"
            z_m = f"CAST(right(replace({z}, ':', ''), 2) AS BIGINT)"
            z_len = f"length(replace({z}, ':', ''))"
            ok = f"({ok} AND ({z} IS NULL OR {z} = 'Z' OR ({z_h} < 24 AND ({z_len} = 3 OR {z_m} < 60))))"
        return ok, f"({days_from_civil(y, mo, d)} * 86400 + {hh} * 3600 + {mm} * 60 + {ss})"

    def _zone_offset(self) -> str:
        z = self.col("z")
        z_h = f"CAST(substr({z}, 2, 2) AS BIGINT)"
        z_m = f"CAST(right(replace({z}, ':', ''), 2) AS BIGINT)"
        z_len = f"length(replace({z}, ':', ''))"
        return (
            f"CASE WHEN {z} IS NULL THEN NULL WHEN {z} = 'Z' THEN 0 ELSE "
            f"(CASE WHEN substr({z}, 1, 1) = '-' THEN -1 ELSE 1 END) * "
            f"({z_h} * 3600 + CASE WHEN {z_len} = 3 THEN 0 ELSE {z_m} * 60 END) END"
        )

    def stages(self) -> list[list[tuple[str, str]]]:
        """Order of the reference: a civil pattern (separated, compact, Chinese) that gives
        a real date wins; otherwise a plain number (epoch ms / s, Excel serial); otherwise
        ISO 8601.

        ``k`` is the form: 1 zero-padded separated (digits by position), 2 other separated,
        3 compact (by position), 4 Chinese, 5 ISO 8601 (only when no civil form matched: a
        string both civil and ISO has the same fields, so the same verdict, either way),
        6 year last (day and month in the declared order). Forms 2, 4, 5 and 6 take all
        their capture groups from one regex run."""
        c = self.col
        t, k, g, gi, x, z = c("t"), c("k"), c("g"), c("gi"), c("x"), c("z")
        forms = ((1, SEP_FIXED), (2, SEP), (3, COMPACT), (4, CHINESE), (5, ISO), (6, YEAR_LAST))
        kind = "CASE " + " ".join(f"WHEN {matches(t, pat)} THEN {num}" for num, pat in forms) + " END"

        def digits14(parts: list[str]) -> str:
            """Groups (year, then 1-2 digit fields; '' when absent) as YYYYMMDDhhmmss."""
            return " || ".join([parts[0]] + [f"lpad({e}, 2, '0')" for e in parts[1:]])

        # every form as one 14-digit number (absent time fields are 0, as the reference's
        # defaults), fields by integer arithmetic
        n = c("n")
        first, second = f"{g}['g1']", f"{g}['g2']"
        month, day = self._day_month(first, second)
        canon = (
            f"CAST(CASE {k} WHEN 1 THEN rpad({' || '.join(f'substr({t}, {a}, {w})' for a, w in FIXED_AT)}, 14, '0') "
            f"WHEN 3 THEN rpad({t}, 14, '0') "
            f"WHEN 6 THEN {digits14([f'{g}[{lit(name)}]' for name in ('g3',)] + [month, day] + [f'{g}[{lit(name)}]' for name in ('g4', 'g5', 'g6')])} "
            f"WHEN 5 THEN {digits14([f'{gi}[{lit(name)}]' for name in GROUPS6])} "
            f"ELSE {digits14([f'{g}[{lit(name)}]' for name in GROUPS6])} END AS BIGINT)"
        )
        unit = {"y": 10**10, "mo": 10**8, "d": 10**6, "h": 10**4, "mi": 100, "s": 1}

        def field(name: str) -> str:
            return f"{n} // {unit[name]}" if name == "y" else f"({n} // {unit[name]}) % 100"

        y, mo, d, h, mi, sc = (c(name) for name in unit)
        hh, mm, ss = (f"coalesce({v}, 0)" for v in (h, mi, sc))
        z_h = f"CAST(substr({z}, 2, 2) AS BIGINT)"
        z_m = f"CAST(right(replace({z}, ':', ''), 2) AS BIGINT)"
        z_len = f"length(replace({z}, ':', ''))"
        ok = (
            f"({valid_date(y, mo, d)} AND {hh} < 24 AND {mm} < 60 AND {ss} < 60"
            # as the reference: 12 / 14 digits whose "year" is implausible are epoch milliseconds
            f" AND ({k} <> 3 OR {y} BETWEEN 1900 AND 2100)"
            f" AND ({z} IS NULL OR {z} = 'Z' OR ({z_h} < 24 AND ({z_len} = 3 OR {z_m} < 60))))"
        )
        local = f"({days_from_civil(y, mo, d)} * 86400 + {hh} * 3600 + {mm} * 60 + {ss})"
        num_us = (
            f"CASE WHEN {x} >= 1e11 AND {x} < 1e14 THEN CAST(round({x} * 1000) AS BIGINT) "
            f"WHEN {x} >= 1e8 AND {x} < 1e10 THEN CAST(round({x} * 1000000) AS BIGINT) END"
        )
        excel_local = f"CASE WHEN {x} >= 1 AND {x} < 80000 THEN CAST(round({x} * 86400000000) AS BIGINT) + {EXCEL_EPOCH_US} END"
        lt, lx = c("l"), c("lx")
        us = (
            f"CASE WHEN {lt} IS NOT NULL THEN ({lt} - coalesce({c('off')}, {offset_at_local(lt, self.zone)})) * 1000000 "
            f"+ coalesce({c('fr')}, 0) "
            f"WHEN {c('num')} THEN coalesce({c('nu')}, {lx} - {offset_at_local(fdiv(lx, 1_000_000), self.zone)} * 1000000) END"
        )
        sec = fdiv(self.us, 1_000_000)
        reason = (
            f"CASE WHEN {blank(self.src)} THEN 'missing' WHEN {self.col('amb')} THEN 'ambiguous_day_month' "
            f"WHEN {self.us} IS NULL THEN 'bad_format' "
            f"WHEN {sec} < {MIN_SEC} OR {sec} >= {MAX_SEC} THEN 'out_of_range' END"
        )
        return [
            [(c("t0"), translate_some(self.src, FULLWIDTH_DIGITS, "0123456789"))],
            [(t, strip(c("t0")))],
            [(k, kind)],
            # a plain number can only be a value of no form or of the all-digit compact form
            [(c("num"), f"CASE WHEN {k} IS NULL OR {k} = 3 THEN coalesce({matches(t, NUMBER)}, false) ELSE false END"),
             (g, f"CASE {k} WHEN 2 THEN {groups(t, SEP, 6)} WHEN 4 THEN {groups(t, CHINESE, 6)} "
                 f"WHEN 6 THEN {groups(t, YEAR_LAST, 6)} END"),
             (gi, f"CASE WHEN {k} = 5 THEN {groups(t, ISO, 8)} END")],
            [(n, canon), (c("fr"), f"CAST(rpad(nullif({gi}['g7'], ''), 6, '0') AS BIGINT)"),
             (z, f"nullif({gi}['g8'], '')"), (x, f"CASE WHEN {c('num')} THEN CAST({t} AS DOUBLE) END")],
            [(c(f), field(f)) for f in unit] + [(c("amb"), self._ambiguous(k, first, second))],
            [(lt, f"CASE WHEN {k} IS NOT NULL AND {ok} AND NOT {c('amb')} THEN {local} END"),
             (c("off"), self._zone_offset()), (lx, excel_local), (c("nu"), num_us)],
            [(self.us, us)],
            [(self.reason, reason)],
        ]  # fmt: skip

    def value_us(self) -> str:
        """The instant (UTC microseconds) when valid, else NULL."""
        return f"CASE WHEN {self.reason} IS NULL THEN {self.us} END"

    def local_days(self) -> str:
        """Local calendar day (days since epoch) of the instant, for DATE and partitions."""
        sec = fdiv(self.us, 1_000_000)
        return fdiv(f"{sec} + {offset_at_utc(sec, self.zone)}", 86400)

    def date_reason(self) -> str:
        """The reference's ``normalize_date`` reason: range checked on the local year."""
        sec = fdiv(self.us, 1_000_000)
        local = f"({sec} + {offset_at_utc(sec, self.zone)})"
        return (
            f"CASE WHEN {blank(self.src)} THEN 'missing' WHEN {self.col('amb')} THEN 'ambiguous_day_month' "
            f"WHEN {self.us} IS NULL THEN 'bad_format' "
            f"WHEN {local} < {MIN_SEC} OR {local} >= {MAX_SEC} THEN 'out_of_range' END"
        )

    def _day_month(self, first: str, second: str) -> tuple[str, str]:
        """(month, day) texts of a year-last date: the declared order, or the one reading
        that cannot be wrong (``timeparse._day_month``)."""
        if self.order == "dmy":
            return second, first
        if self.order == "mdy":
            return first, second
        a = f"CAST({first} AS BIGINT)"
        return (f"CASE WHEN {a} > 12 THEN {second} ELSE {first} END", f"CASE WHEN {a} > 12 THEN {first} ELSE {second} END")

    def _ambiguous(self, k: str, first: str, second: str) -> str:
        """A year-last date that reads two ways, with no declared order: never guessed."""
        if self.order:
            return "false"
        a, b = f"CAST({first} AS BIGINT)", f"CAST({second} AS BIGINT)"
        return f"coalesce({k} = 6 AND {a} <= 12 AND {b} <= 12 AND {a} <> {b}, false)"


# ---------------------------------------------------------------------------- identifiers

@lru_cache(maxsize=1)
def known_provinces() -> list[str]:
    """Two-digit prefixes that make ``divisions.is_known`` true: every code in the table
    has its province in the table, so ``is_known(c)`` is ``c[:2] + '0000' in table``."""
    table = divisions()
    assert all(c[:2] + "0000" in table for c in table), "division table lost a province"
    return sorted({c[:2] for c in table if c[:2] + "0000" in table})


def cid_stages(src: str, p: str, today: date) -> tuple[list[list[tuple[str, str]]], str, str]:
    """Citizen ID: staged columns, value expression, reason expression."""
    cs, body, given, full, num = f"{p}cs", f"{p}body", f"{p}given", f"{p}full", f"{p}num"
    # the 17 body digits by integer arithmetic on one BIGINT (17 digits < 2^63), not 17 substrings
    weights = " + ".join(
        f"({num} // {10 ** (16 - i)}) % 10 * {w}" if i < 16 else f"{num} % 10 * {w}" for i, w in enumerate(ref_cid.WEIGHTS)
    )
    check = f"substr({lit(ref_cid.CHECK_CHARS)}, ({weights}) % 11 + 1, 1)"
    y, m, d = f"{p}y", f"{p}m", f"{p}d"
    stages = [
        [(f"{p}cs0", replace_re(src, f"{WS}|-"))],
        [(cs, f"upper({translate_some(f'{p}cs0', '０１２３４５６７８９Ｘｘ', '0123456789XX')})")],
        [(body, f"CASE WHEN {matches(cs, '^[0-9]{15}$')} THEN substr({cs}, 1, 6) || '19' || substr({cs}, 7, 9) "
                f"WHEN {matches(cs, '^[0-9]{17}[0-9X]$')} THEN substr({cs}, 1, 17) END"),
         (given, f"CASE WHEN {matches(cs, '^[0-9]{17}[0-9X]$')} THEN substr({cs}, 18, 1) END")],
        [(num, f"CAST({body} AS BIGINT)")],
        [(f"{p}chk", f"CASE WHEN {body} IS NOT NULL THEN {check} END")],
        [(full, f"{body} || coalesce({given}, {p}chk)")],
        [(y, f"CAST(substr({full}, 7, 4) AS BIGINT)"), (m, f"CAST(substr({full}, 11, 2) AS BIGINT)"),
         (d, f"CAST(substr({full}, 13, 2) AS BIGINT)")],
    ]  # fmt: skip
    reason = (
        f"CASE WHEN {blank(src)} THEN 'missing' WHEN {body} IS NULL THEN 'bad_shape' "
        f"WHEN {given} IS NOT NULL AND {given} <> {p}chk THEN 'bad_check_char' "
        f"WHEN NOT ({valid_date(y, m, d)} AND {y} >= 1880 AND substr({full}, 7, 8) <= {lit(today.strftime('%Y%m%d'))}) "
        f"THEN 'bad_birth_date' "
        f"WHEN NOT {in_list(f'substr({full}, 1, 2)', known_provinces())} THEN 'unknown_division' END"
    )
    return stages, full, reason


COUNTRY_PREFIXED = r"^(\+?86|0086)1[0-9]{10}$"


def phone_stages(src: str, p: str) -> tuple[list[list[tuple[str, str]]], str, str]:
    s, n = f"{p}s", f"{p}n"
    stages = [
        [(f"{p}s0", translate_some(src, ref_phone.FULLWIDTH_FROM, ref_phone.FULLWIDTH_TO))],
        [(s, replace_re(f"{p}s0", f"{WS}|[-()（）]"))],
        [(n, f"CASE WHEN {matches(s, COUNTRY_PREFIXED)} THEN right({s}, 11) ELSE {s} END")],
    ]
    reason = (
        f"CASE WHEN {blank(src)} THEN 'missing' WHEN NOT {matches(n, '^1[0-9]{10}$')} THEN 'bad_shape' "
        f"WHEN NOT {in_list(f'substr({n}, 1, 3)', sorted(ref_phone.MOBILE_PREFIXES))} THEN 'unknown_prefix' END"
    )
    return stages, n, reason


def _py_to_re(pattern: str) -> str:
    return pattern.replace("\\d", "[0-9]")


PLATE_PATTERNS = [_py_to_re(r.pattern) for r in (ref_plate._NEW_ENERGY, ref_plate._ORDINARY, ref_plate._SPECIAL, ref_plate._EMBASSY)]


def plate_stages(src: str, p: str) -> tuple[list[list[tuple[str, str]]], str, str]:
    s = f"{p}s"
    fw_from = "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
    fw_to = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    stages = [[(f"{p}s0", replace_re(src, f"{WS}|[·.•・-]"))], [(s, f"upper({translate_some(f'{p}s0', fw_from, fw_to)})")]]
    ok = " OR ".join(matches(s, pat) for pat in PLATE_PATTERNS)
    reason = f"CASE WHEN {blank(src)} THEN 'missing' WHEN NOT ({ok}) THEN 'bad_shape' END"
    return stages, s, reason


def uscc_stages(src: str, p: str) -> tuple[list[list[tuple[str, str]]], str, str]:
    s = f"{p}s"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    alpha = lit(ref_uscc.ALPHABET)
    total = " + ".join(f"(strpos({alpha}, substr({s}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(weights))
    check = f"substr({alpha}, (31 - ({total}) % 31) % 31 + 1, 1)"
    stages = [[(s, f"upper({replace_re(src, f'{WS}|-')})")]]
    reason = (
        f"CASE WHEN {blank(src)} THEN 'missing' WHEN NOT {matches(s, _py_to_re(ref_uscc._SHAPE.pattern))} THEN 'bad_shape' "
        f"WHEN substr({s}, 18, 1) <> {check} THEN 'bad_check_char' END"
    )
    return stages, s, reason


# ---------------------------------------------------------------------------- people, numbers

SEX_CODES = {"1": "男", "男": "男", "男性": "男", "M": "男", "MALE": "男", "2": "女", "女": "女", "女性": "女", "F": "女", "FEMALE": "女"}
SEX_UNKNOWN = ("0", "9", "未知", "未说明")


def sex(src: str) -> tuple[str, str]:
    """GB/T 2261.1 codes and the words departments write, fullwidth (１, Ｍ) as ASCII."""
    s = f"upper({strip(translate_some(src, FULLWIDTH_ASCII, HALFWIDTH_ASCII))})"
    arms = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in SEX_CODES.items())
    value = f"CASE {s} {arms} END"
    reason = f"CASE WHEN {blank(src)} OR {in_list(s, list(SEX_UNKNOWN))} THEN NULL WHEN {value} IS NULL THEN 'bad_code' END"
    return value, reason


def number(src: str, cleanup: str = "") -> tuple[str, str]:
    """Decimal numbers (DOUBLE); ``cleanup`` is a regex of characters to drop first."""
    s = strip(src) if not cleanup else f"regexp_replace({strip(src)}, {lit(cleanup)}, '', 'g')"
    ok = matches(s, r"^[+-]?[0-9]+(\.[0-9]+)?$")
    return f"CASE WHEN {ok} THEN CAST({s} AS DOUBLE) END", f"CASE WHEN NOT {blank(src)} AND NOT {ok} THEN 'bad_number' END"


def integer(src: str) -> tuple[str, str]:
    s = strip(src)
    pat = r"^([+-]?[0-9]{1,15})(\.0*)?$"
    value = f"CASE WHEN {matches(s, pat)} THEN CAST({extract(s, pat, 1)} AS BIGINT) END"
    return value, f"CASE WHEN NOT {blank(src)} AND {value} IS NULL THEN 'bad_number' END"


def coordinate(src: str, limit: int) -> tuple[str, str]:
    value, reason = number(src)
    ranged = f"CASE WHEN abs({value}) <= {limit} THEN {value} END"
    return ranged, f"coalesce({reason}, CASE WHEN {value} IS NOT NULL AND abs({value}) > {limit} THEN 'out_of_range' END)"


# "121.54,29.87", "121.54，29.87", "121.54 29.87", "(121.54; 29.87)": two decimals and a separator
LONLAT = r"^[(\[]?\s*([+-]?[0-9]{1,3}(?:\.[0-9]+)?)\s*[,，;；/\s]\s*([+-]?[0-9]{1,3}(?:\.[0-9]+)?)\s*[)\]]?$"


def lonlat(src: str) -> tuple[str, str, str]:
    """One "lon,lat" text (经纬度) as (lon, lat, reason). Written "lat,lon" it is read the
    other way round only when it cannot be wrong (the first number ≤ 90, the second > 90)."""
    s = strip(src)
    a, b = (f"TRY_CAST(nullif({extract(s, LONLAT, i)}, '') AS DOUBLE)" for i in (1, 2))
    swapped = f"(abs({a}) <= 90 AND abs({b}) > 90)"
    lon = f"CASE WHEN {swapped} THEN {b} ELSE {a} END"
    lat = f"CASE WHEN {swapped} THEN {a} ELSE {b} END"
    ok = f"(abs({lon}) <= 180 AND abs({lat}) <= 90)"
    reason = (f"CASE WHEN {blank(src)} THEN NULL WHEN NOT {matches(s, LONLAT)} THEN 'bad_shape' "
              f"WHEN NOT {ok} THEN 'out_of_range' END")  # fmt: skip
    return f"CASE WHEN {ok} THEN {lon} END", f"CASE WHEN {ok} THEN {lat} END", reason


def pattern_code(src: str, pattern: str, transform: str = "upper") -> tuple[str, str]:
    """Codes with a fixed shape (division codes, VINs): kept only when they fit."""
    s = f"{transform}({strip(src)})"
    return f"CASE WHEN {matches(s, pattern)} THEN {s} END", f"CASE WHEN NOT {blank(src)} AND NOT {matches(s, pattern)} THEN 'bad_shape' END"


def garbage(fields: list[str]) -> str:
    """True when a raw value holds control characters or undecodable bytes (U+FFFD)."""
    joined = " || ".join(f"coalesce({f}, '')" for f in fields)
    return matches(f"({joined})", GARBAGE)


def row_hash(fields: list[str]) -> str:
    """Identity of a source row's content, for exact-duplicate detection."""
    return "md5(concat_ws('\u241e', " + ", ".join(f"coalesce({f}, '\u2400')" for f in fields) + "))"


def csv_line(fields: list[str]) -> str:
    """The row as a CSV line (fields quoted when needed), for quarantine's ``raw``."""
    def one(f: str) -> str:
        return (
            f"CASE WHEN {f} IS NULL THEN '' WHEN {f} LIKE '%,%' OR {f} LIKE '%\"%' "
            f"THEN '\"' || replace({f}, '\"', '\"\"') || '\"' ELSE {f} END"
        )
    return "concat_ws(',', " + ", ".join(one(f) for f in fields) + ")"
