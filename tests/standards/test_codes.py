"""USCC (GB 32100), plates (GA 36) and mobile numbers."""

from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc as std_uscc

from zhijing.standards import phone, plate, uscc
from zhijing.standards.divisions import counties

divisions = st.sampled_from([d.code for d in counties()])


@given(divisions, st.integers(min_value=0, max_value=10**8 - 1))
def test_uscc_made_codes_validate_independently(division, serial):
    code = uscc.make(division, serial)
    assert uscc.normalize(code).value == code
    assert std_uscc.is_valid(code)


@given(divisions, st.integers(min_value=0, max_value=10**8 - 1), st.integers(min_value=0, max_value=16))
def test_uscc_single_character_change_is_caught(division, serial, pos):
    code = uscc.make(division, serial)
    alphabet = uscc.ALPHABET
    changed = alphabet[(alphabet.index(code[pos]) + 1) % len(alphabet)] if code[pos] in alphabet else "0"
    typo = code[:pos] + changed + code[pos + 1 :]
    assert uscc.normalize(typo).value is None


ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


@given(st.sampled_from(plate.PROVINCES), st.sampled_from("ABCDEFGHJK"), st.text(ALNUM, min_size=5, max_size=5))
def test_ordinary_plates_normalize_from_sloppy_input(prov, letter, tail):
    canonical = f"{prov}{letter}{tail}"
    sloppy = f" {prov}{letter.lower()}·{tail.lower()} "
    assert plate.normalize(sloppy).value == canonical
    assert plate.kind(canonical) in ("ordinary", "new_energy")


@given(st.sampled_from(plate.PROVINCES), st.sampled_from("DF"), st.text("0123456789", min_size=5, max_size=5))
def test_new_energy_plates(prov, df, digits):
    small = f"{prov}B{df}{digits}"
    large = f"{prov}B{digits}{df}"
    assert plate.kind(small) == "new_energy"
    assert plate.kind(large) == "new_energy"


def test_plate_rejections_and_specials():
    assert plate.normalize("浙B1234").reason == "bad_shape"
    assert plate.normalize("浙BO1234").reason == "bad_shape"  # O is not issued
    assert plate.normalize("XX12345").reason == "bad_shape"
    assert plate.kind("浙B1234警") == "special"
    assert plate.kind("浙B1234学") == "special"
    assert plate.kind("使123456") == "embassy"


@given(st.sampled_from(sorted(phone.MOBILE_PREFIXES)), st.text("0123456789", min_size=8, max_size=8),
       st.sampled_from(["", "+86", "0086", "86", "+86 "]), st.booleans())
def test_mobile_numbers_strip_country_codes_and_punctuation(prefix, rest, cc, dashes):
    number = prefix + rest
    shown = f"{prefix}-{rest[:4]}-{rest[4:]}" if dashes else number
    assert phone.normalize(cc + shown).value == number


def test_phone_rejections():
    assert phone.normalize("12012345678").reason == "unknown_prefix"
    assert phone.normalize("0574-87654321").reason == "bad_shape"  # a landline is not a mobile
    assert phone.normalize("").reason == "missing"
