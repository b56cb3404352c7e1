"""The Splink model for Chinese person records: blocking rules and comparisons declared
as levels, each level a separate piece of evidence the EM training weighs.

- citizen ID: exact valid ID; one edit apart on the raw text (a typo or a transposition);
- name: exact; same pinyin (homophone); same surname pinyin and shape-similar given name;
  pinyin close (airline names, one syllable off);
- birth date and division as the ID states them (cross-check when the ID itself differs);
- phone exact; district of the address exact.
"""

from __future__ import annotations

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on


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
            cll.ExactMatchLevel("name").configure(label_for_charts="same characters"),
            cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin (homophone)"),
            cll.And(cll.ExactMatchLevel("surname_py"), cll.ExactMatchLevel("name_shape")).configure(
                label_for_charts="same shape codes"),
            cll.JaroWinklerLevel("name_py", 0.9).configure(label_for_charts="pinyin close"),
            cll.LevenshteinLevel("name", 1).configure(label_for_charts="one character differs"),
            cll.ElseLevel(),
        ],
    )


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="mention_id",
        probability_two_random_records_match=1e-4,
        comparisons=[
            _id_comparison(),
            _name_comparison(),
            cl.ExactMatch("id_birth").configure(term_frequency_adjustments=False),
            cl.ExactMatch("phone"),
            cl.ExactMatch("address_district"),
        ],
        # every rule is an equi-join whose blocks stay small as the city grows: a name with
        # its whole ID minus the tail (a typo or transposition in the serial or check
        # digits), a name with the ID's tail (a typo in the division or birth date). A
        # name with the ID's division alone, or an ID prefix without the name, grows with
        # the square of a common name's holders and found no extra pair above the floor.
        blocking_rules_to_generate_predictions=[
            block_on("citizen_id"),
            block_on("phone"),
            block_on("name_py", "substr(id_any, 1, 13)"),
            block_on("name_py", "substr(id_any, 15, 4)"),
        ],
        # the clustering needs only ids and probabilities: keeping every compared column
        # of every pair is what makes Splink's predict run out of memory at scale (#785);
        # explanations re-score the one pair with them (explain.py)
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


TRAINING_BLOCKS = [block_on("name_py", "id_birth"), block_on("citizen_id"), block_on("phone")]
