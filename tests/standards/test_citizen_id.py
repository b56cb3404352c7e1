"""GB 11643-1999 citizen IDs: check character, 15→18 upgrade, derived facts."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from zhijing.standards import citizen_id
from zhijing.standards.divisions import counties

DIVISIONS = [d.code for d in counties()]
divisions = st.sampled_from(DIVISIONS)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31))
seqs = st.integers(min_value=0, max_value=999)


@given(divisions, births, seqs)
def test_made_ids_validate_and_agree_with_stdnum(division, birth, seq):
    s = citizen_id.make(division, birth, seq)
    assert citizen_id.normalize(s).value == s
    assert ric.calc_check_digit(s) == s[-1]  # an independent implementation agrees
    facts = citizen_id.facts(s)
    assert facts.birth_date == birth
    assert facts.division == division
    assert facts.sex == ("男" if seq % 2 else "女")


@given(divisions, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), seqs)
def test_legacy_15_digit_upgrades_to_the_same_18(division, birth, seq):
    s18 = citizen_id.make(division, birth, seq)
    s15 = s18[:6] + s18[8:17]
    assert len(s15) == 15
    assert citizen_id.normalize(s15).value == s18


@given(divisions, births, seqs, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_single_digit_typo_is_caught(division, birth, seq, pos, delta):
    s = citizen_id.make(division, birth, seq)
    typo = s[:pos] + str((int(s[pos]) + delta) % 10) + s[pos + 1 :]
    assert citizen_id.normalize(typo).value is None


@given(divisions, births, seqs, st.integers(min_value=0, max_value=15))
def test_adjacent_transposition_is_caught_unless_digits_equal(division, birth, seq, pos):
    s = citizen_id.make(division, birth, seq)
    swapped = s[:pos] + s[pos + 1] + s[pos] + s[pos + 2 :]
    result = citizen_id.normalize(swapped)
    if s[pos] == s[pos + 1]:
        assert result.value == s
    else:
        assert result.value is None


def test_known_published_example_and_cleanup():
    assert citizen_id.normalize("11010519491231002X").ok
    assert citizen_id.normalize(" 11010519491231002x ").value == "11010519491231002X"
    assert citizen_id.normalize("１１０１０５１９４９１２３１００２Ｘ").value == "11010519491231002X"


def test_reasons_are_codes_without_the_value():
    assert citizen_id.normalize(None).reason == "missing"
    assert citizen_id.normalize("abc").reason == "bad_shape"
    assert citizen_id.normalize("110105194912310021").reason == "bad_check_char"
    future = citizen_id.make("110105", date(2020, 1, 1), 1)
    assert citizen_id.normalize(future, today=date(2019, 1, 1)).reason == "bad_birth_date"
    unknown = citizen_id.make("990101", date(1980, 1, 1), 1)
    assert citizen_id.normalize(unknown).reason == "unknown_division"
    for raw in ("abc", "110105194912310021"):
        assert raw not in (citizen_id.normalize(raw).reason or "")
