"""The Splink model for Chinese person records: blocking rules and comparisons declared
as levels, each level a separate piece of evidence the EM training weighs.

- citizen ID: exact valid ID; one edit apart on the raw text (a typo or a transposition);
- name (in its normal form, ``name_form``): exact; same pinyin (homophone); same surname
  pinyin and shape-similar given name; pinyin close (airline names, one syllable off);
- birth date as stated or as the ID's text states it: the same, or day and month swapped;
- phone exact, a phone the prefix table rejected compared as sent;
- address: the same parsed address, else the same district.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

from zhijing.entities.features import swapped as swapped_sql


def _id_comparison():
    return cl.CustomComparison(
        output_column_name="citizen_id",
        comparison_levels=[
            cll.Or(cll.NullLevel("id_any"), cll.NullLevel("id_any")),
            cll.ExactMatchLevel("citizen_id").configure(label_for_charts="same valid ID"),
            # two different people's IDs are almost never one edit apart; random sampling
            # rarely meets such pairs, so the level's u is stated rather than left unknown
            cll.ExactMatchLevel("id_any").configure(label_for_charts="same ID text", u_probability=1e-7),
            cll.DamerauLevenshteinLevel("id_any", 1).configure(label_for_charts="one typo or transposition", u_probability=1e-6),
            cll.ElseLevel(),
        ],
    )


def _name_comparison():
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_py"),
            cll.ExactMatchLevel("name_norm").configure(label_for_charts="same characters"),
            cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin (homophone)"),
            cll.And(cll.ExactMatchLevel("surname_py"), cll.ExactMatchLevel("name_shape")).configure(
                label_for_charts="same shape codes"),
            cll.JaroWinklerLevel("name_py", 0.9).configure(label_for_charts="pinyin close"),
            cll.LevenshteinLevel("name_norm", 1).configure(label_for_charts="one character differs"),
            cll.ElseLevel(),
        ],
    )


def _exact(output: str, column: str, label: str):
    """Null / same / else on ``column``, named ``output`` (the name the explanation shows
    and masks: ``phone`` compares ``phone_any``, ``id_birth`` compares ``birth_any``)."""
    return cl.CustomComparison(output_column_name=output, comparison_levels=[
        cll.NullLevel(column), cll.ExactMatchLevel(column).configure(label_for_charts=label), cll.ElseLevel()])


def _birth_comparison():
    """The birth date as stated or as the ID's text states it (``birth_seen``): the same, or
    the same with day and month swapped (a month-first clerk)."""
    swapped = swapped_sql("birth_seen_l")
    return cl.CustomComparison(output_column_name="id_birth", comparison_levels=[
        cll.NullLevel("birth_seen"), cll.ExactMatchLevel("birth_seen").configure(label_for_charts="same birth date"),
        cll.CustomLevel(f"{swapped} = birth_seen_r").configure(label_for_charts="day and month swapped"),
        cll.ElseLevel()])


def _address_comparison():
    """The parsed address (division + detail) first, then the district alone."""
    return cl.CustomComparison(output_column_name="address_district", comparison_levels=[
        cll.NullLevel("address_district"),
        cll.ExactMatchLevel("address_key").configure(label_for_charts="same address (parsed)"),
        cll.ExactMatchLevel("address_district").configure(label_for_charts="same district"),
        cll.ElseLevel()])


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="mention_id",
        probability_two_random_records_match=1e-4,
        comparisons=[
            _id_comparison(),
            _name_comparison(),
            _birth_comparison(),
            _exact("phone", "phone_any", "same phone"),
            _address_comparison(),
        ],
        # every rule is an equi-join whose blocks stay small as the city grows: a name with
        # its whole ID minus the tail (a typo or transposition in the serial or check
        # digits), a name with the ID's tail (a typo in the division or birth date). A
        # name with the ID's division alone, or an ID prefix without the name, grows with
        # the square of a common name's holders and found no extra pair above the floor.
        # A name with the birth date, or with the full parsed address, meets the records
        # of a person whose phone changed and the ID-only records of a phone-only person;
        # both blocks stay small (one person's, or a household's, namesakes).
        blocking_rules_to_generate_predictions=[
            block_on("citizen_id"),
            block_on("phone_any"),
            block_on("name_py", "substr(id_any, 1, 13)"),
            block_on("name_py", "substr(id_any, 15, 4)"),
            block_on("name_py", "birth_seen"),
            block_on("name_py", "address_key"),
        ],
        # the clustering needs only ids and probabilities: keeping every compared column
        # of every pair is what makes Splink's predict run out of memory at scale (#785);
        # explanations re-score the one pair with them (explain.py)
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


TRAINING_BLOCKS = [block_on("name_py", "birth_seen"), block_on("citizen_id"), block_on("phone_any")]
