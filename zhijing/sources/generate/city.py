"""``generate_city``: the whole synthetic city, its department sources and its truth.

Output appears atomically: everything is written to a hidden folder beside the target
and renamed into place when complete, with truth/manifest.json written last.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zhijing.errors import ZhijingError
from zhijing.sources.generate import (
    cases,
    epidemic,
    faults,
    geography,
    org,
    population,
    records,
    risk_plants,
    spill,
    streets,
    structures,
    suspects,
    writers,
)
from zhijing.sources.spec import packaged_spec as load_spec

GENERATOR_VERSION = "1"
MIN_PERSONS, MAX_PERSONS = 10_000, 10_000_000


def _check(out: Path, persons: int, force: bool) -> None:
    if not MIN_PERSONS <= persons <= MAX_PERSONS:
        raise ZhijingError(f"--persons must be between {MIN_PERSONS:,} and {MAX_PERSONS:,} (got {persons:,})")
    if out.exists() and any(out.iterdir()) and not force:
        raise ZhijingError(f"{out} already holds a city; pass --force to replace it")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ZhijingError(f"cannot create {parent}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise ZhijingError(f"cannot write to {parent}")


def generate_city(out: Path, persons: int, seed: int = 7, progress: bool = True, force: bool = False) -> dict:
    """Generate a city of ``persons`` people into ``out``; return the summary (manifest)."""
    out = Path(out)
    _check(out, persons, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        manifest = _generate(tmp, persons, seed, progress)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            shutil.rmtree(old)
        tmp.rename(out)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _generate(root: Path, persons: int, seed: int, show: bool) -> dict:
    spec = load_spec()
    src, truth = root / "sources", root / "truth"
    (truth / "structures").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    steps = ["city", *[d.name for d in spec.datasets], "truth"]
    with Progress(TextColumn("[bold]{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not show) as bar:  # fmt: skip
        task = bar.add_task("城市 city", total=len(steps))
        geo = geography.build(rng, max(1000, persons * 2 // 5))
        pop = population.build(rng, geo, persons)
        hotels = org.hotels(rng, geo, max(20, persons // 1000))
        checkpoints = org.checkpoints(rng, geo, max(20, persons // 2000))
        units = org.units(geo)
        risk_plants.open_accounts(seed, pop)
        planted = structures.plant(rng, pop, geo)
        suspect_rows = suspects.plant(rng, pop, geo, hotels, checkpoints, planted)
        risk = risk_plants.plant(seed, pop, geo, planted)  # own generator: the rest of the city is unchanged
        builders = _builders(rng, pop, geo, hotels, checkpoints, planted)
        suspects.attach(builders, suspect_rows, planted.truth)
        risk.hook(builders)
        # the cohort's co-occurrences go into these datasets before they are written
        recs = {name: builders.pop(name)() for name in epidemic.DATASETS}
        planted.truth["epidemic_contacts"] = epidemic.plant(rng, pop, recs)
        _release()
        bar.advance(task)

        # the truth tables that grow with every dataset wait on disk, not in memory
        (root / ".spill").mkdir()
        mentions = spill.Spill(root / ".spill" / "mentions.arrow", ["dataset", "record_id", "role", "person_id"])
        fault_rows = spill.Spill(root / ".spill" / "faults.arrow", ["dataset", "record_id", "field", "fault"])
        fault_kinds, counts = [], {}
        for ds in spec.datasets:
            bar.update(task, description=ds.title)
            rec = recs.pop(ds.name) if ds.name in recs else builders.pop(ds.name)()  # one dataset in memory at a time
            log = faults.FaultLog(ds.name)
            if rec.faults is not None:
                log.rows.append(rec.faults.assign(dataset=ds.name))
            month = _month(rec.rows, ds)
            rows = faults.plant_field_faults(rng, ds, rec.rows, log)
            rec.rows = None  # the faulted copy is all that is written
            order = faults.duplicate_order(rng, ds, rows, log)  # repeats are taken as the files are written
            bad = faults.malformed_positions(rng, ds, rows, log, order)
            writers.write(ds, rows, src, bad, month if ds.partition != "none" else None, order)
            counts[ds.name] = len(order)
            del rows, month, bad, order
            frame = log.frame()
            fault_rows.add(frame)
            fault_kinds.append(frame.fault.to_numpy())
            del frame, log
            if len(rec.persons):
                mentions.add(rec.persons.assign(dataset=ds.name))
            del rec
            _release()
            bar.advance(task)

        bar.update(task, description="真值 truth")
        _write_reference(src, geo, units, org.officers(rng, units), hotels, checkpoints)
        _write_truth(truth, pop, planted, mentions, fault_rows)
        (root / ".spill").rmdir()
        bar.advance(task)
    fault_kind = pd.Series(np.concatenate(fault_kinds), dtype=object)
    manifest = {
        "generator_version": GENERATOR_VERSION, "seed": seed, "persons": persons, "rows": counts,
        "records": int(sum(counts.values())), "faults": fault_kind.value_counts().to_dict(),
        "fault_rates": faults.RATES,
        "structures": {"pyramid_members": len(planted.truth["pyramid"]), "fraud_victims": len(planted.truth["fraud_ring"]["victims"]),
                       "crime_events": len(planted.truth["crime_events"]), "epidemic_contacts": len(planted.truth["epidemic_contacts"]),
                       "fundraising_investors": len(planted.truth["fundraising"]["investors"]), "blackspots": len(planted.truth["blackspots"])},
    }  # fmt: skip
    (truth / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=int), encoding="utf-8")
    return manifest


def _release() -> None:
    """Hand freed heap pages back to the system between datasets (glibc keeps them
    otherwise, and the next dataset's arrays land elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _builders(rng, pop, geo, hotels, checkpoints, planted) -> dict:
    """Dataset name -> a function building its records (called once, when it is written).

    Each builder draws from its own child generator, so the output does not depend on the
    order in which datasets are built."""
    case_info, case_person = cases.build(rng, pop, geo, planted)
    seeds = {name: np.random.default_rng(s) for name, s in zip(
        ("hukou", "lodging", "rail", "flight", "coach", "kk", "door", "subs", "calls", "acc", "tx", "inc", "traffic", "veh", "ent", "entp"),
        rng.integers(0, 2**63, 16), strict=True)}  # fmt: skip
    seeds["floating"] = seeds["hukou"].spawn(1)[0]  # a child stream: the draws above stay as they were
    return {
        "hukou_person": lambda: records.hukou(seeds["hukou"], pop, geo),
        "floating_person": lambda: records.floating(seeds["floating"], pop, geo),
        "case_info": lambda: case_info,
        "case_person": lambda: case_person,
        "lodging": lambda: records.lodging(seeds["lodging"], pop, geo, hotels),
        "rail_ticket": lambda: records.rail(seeds["rail"], pop),
        "flight_ticket": lambda: records.flight(seeds["flight"], pop),
        "coach_ticket": lambda: records.coach(seeds["coach"], pop),
        "checkpoint_read": lambda: records.checkpoint_reads(seeds["kk"], pop, checkpoints),
        "door_access": lambda: records.door_access(seeds["door"], pop, geo),
        "phone_subscriber": lambda: records.subscribers(seeds["subs"], pop),
        "call_record": lambda: records.calls(seeds["calls"], pop, pd.concat(planted.calls, ignore_index=True)),
        "bank_account": lambda: records.bank_accounts(seeds["acc"], pop),
        "bank_transaction": lambda: records.transactions(seeds["tx"], pop, pd.concat(planted.transactions, ignore_index=True)),
        "incident_110": lambda: records.incidents(seeds["inc"], pop, geo, pd.concat(planted.incidents, ignore_index=True), planted.truth),
        "traffic_accident": lambda: cases.accidents(seeds["traffic"], pop, planted),
        "vehicle_registration": lambda: records.vehicle_registrations(seeds["veh"], pop),
        "enterprise": lambda: records.enterprises(seeds["ent"], pop),
        "enterprise_person": lambda: records.enterprise_people(seeds["entp"], pop),
    }


def _month(rows: pd.DataFrame, ds, chunk: int = 500_000) -> pd.Series:
    """Month (or day→month) of each row's true time, for splitting files into batches.

    A categorical: one string per month, not one per row."""
    if not ds.time_field:
        return pd.Series("all", index=rows.index)
    col = rows[ds.time_field]
    if np.issubdtype(col.dtype, np.number):
        unit = "ms" if col.abs().max() > 1e11 else "s"
        t = (pd.to_datetime(col, unit=unit) + pd.Timedelta(hours=8)).to_numpy().astype("datetime64[M]")
        uniq, codes = np.unique(t, return_inverse=True)
        labels = ["unknown" if np.isnat(u) else pd.Timestamp(u).strftime("%Y-%m") for u in uniq]
        return pd.Series(pd.Categorical.from_codes(codes.ravel(), categories=labels), index=col.index)
    parts = []
    for start in range(0, len(col), chunk):
        text = col.iloc[start : start + chunk].astype(str)
        iso = text.str.match(r"^\d{4}-\d{2}")
        compact = text.str.match(r"^\d{6}")
        parts.append(np.where(iso, text.str.slice(0, 7), np.where(compact, text.str.slice(0, 4) + "-" + text.str.slice(4, 6), "unknown")))
    uniq, codes = np.unique(np.concatenate(parts) if parts else np.array([], str), return_inverse=True)
    return pd.Series(pd.Categorical.from_codes(codes.ravel(), categories=uniq.astype(object)), index=col.index)


def _write_reference(src: Path, geo, units, officers, hotels, checkpoints) -> None:
    (src / "geo").mkdir(parents=True, exist_ok=True)
    (src / "org").mkdir(parents=True, exist_ok=True)
    (src / "geo" / "districts.geojson").write_text(json.dumps(geography.districts_geojson(geo), ensure_ascii=False), encoding="utf-8")
    (src / "geo" / "stations.geojson").write_text(json.dumps(geography.stations_geojson(geo), ensure_ascii=False), encoding="utf-8")
    geo.addresses.to_csv(src / "geo" / "addresses.csv", index=False)
    geo.roads.nodes.to_csv(src / "geo" / "road_nodes.csv", index=False)
    (src / "geo" / "road_segments.geojson").write_text(json.dumps(streets.segments_geojson(geo.roads), ensure_ascii=False), encoding="utf-8")
    checkpoints.to_csv(src / "geo" / "checkpoints.csv", index=False)
    hotels.to_csv(src / "geo" / "hotels.csv", index=False)
    pd.DataFrame([(n, lon, lat) for n, (lon, lat) in records.TERMINALS.items()], columns=["name", "lon", "lat"]).to_csv(
        src / "geo" / "terminals.csv", index=False)
    units.to_csv(src / "org" / "units.csv", index=False)
    officers.to_csv(src / "org" / "officers.csv", index=False)


def _write_truth(truth: Path, pop, planted, mentions: spill.Spill, fault_rows: spill.Spill) -> None:
    pop.persons.drop(columns=["surname", "given"]).to_parquet(truth / "persons.parquet", index=False)
    pop.households.to_parquet(truth / "households.parquet", index=False)
    pop.companies.to_parquet(truth / "companies.parquet", index=False)
    pop.company_people.to_parquet(truth / "company_people.parquet", index=False)
    pop.vehicles.to_parquet(truth / "vehicles.parquet", index=False)
    pop.accounts.to_parquet(truth / "accounts.parquet", index=False)
    pop.phones.to_parquet(truth / "phones.parquet", index=False)
    mentions.to_parquet(truth / "record_persons.parquet")
    fault_rows.to_parquet(truth / "record_faults.parquet")
    for name, value in planted.truth.items():
        if isinstance(value, pd.DataFrame):
            value.to_parquet(truth / "structures" / f"{name}.parquet", index=False)
        else:
            (truth / "structures" / f"{name}.json").write_text(json.dumps(value, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
