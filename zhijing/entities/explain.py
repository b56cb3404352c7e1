"""Explain a link: the match weight each comparison contributes for a pair of mentions
(Splink's waterfall), from the model the last run trained."""

from __future__ import annotations

import json
import math

from zhijing.errors import NotReady, ZhijingError
from zhijing.lake.store import current_files


def explain(settings, a: str, b: str) -> dict:
    from splink import DuckDBAPI, Linker

    path = settings.state_dir / "person_model.json"
    if not path.exists():
        raise NotReady("no person model yet: run `zhijing resolve` first")
    import duckdb

    files = current_files(settings, "entities", "person_mentions")
    with duckdb.connect() as con:  # a connection of this call's own: explain is served
        rows = con.execute(f"SELECT * FROM read_parquet({files!r}) WHERE mention_id IN ($a, $b)", {"a": a, "b": b}).df()
    if len(rows) != 2:
        raise ZhijingError("both mentions must exist")
    model = {**json.loads(path.read_text()), "retain_intermediate_calculation_columns": True, "retain_matching_columns": True}
    linker = Linker(DuckDBAPI().register(rows, table_name="pair"), model, log_level=None)
    left, right = (rows.iloc[i].where(rows.iloc[i].notna(), None).to_dict() for i in (0, 1))
    scored = linker.inference.score_pair(left, right).as_pandas_dataframe().iloc[0]
    p = model["probability_two_random_records_match"]
    steps = [{"comparison": "prior", "level": "两条随机记录同属一人的先验", "match_weight": math.log2(p / (1 - p))}]
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        gamma = int(scored[f"gamma_{name}"])
        levels = comp["comparison_levels"]
        # levels are listed strongest first; the null level has gamma -1, the else level 0
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        level = next((lv for lv in levels if lv.get("is_null_level")), None) if gamma == -1 else non_null[len(non_null) - 1 - gamma]
        mw = scored.get(f"mw_{name}")
        steps.append({"comparison": name, "level": (level or {}).get("label_for_charts", str(gamma)),
                      "match_weight": float(mw) if mw is not None and mw == mw else 0.0,
                      "left": _plain(left.get(name)), "right": _plain(right.get(name))})  # fmt: skip
    return {"a": a, "b": b, "match_weight": float(scored["match_weight"]),
            "match_probability": float(scored["match_probability"]), "waterfall": steps}  # fmt: skip


def _plain(v):
    return None if v is None else str(v)
