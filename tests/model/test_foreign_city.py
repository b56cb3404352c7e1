"""The foreign city (issue 19): the session's small city written by `zhijing generate-foreign`
under other dataset names and headers (two hotel chains, two banks), declared by its own
YAML in a home that sees no packaged registry, gives the same answers as the city under its
packaged names. Answers are compared through the truth — persons by truth person id,
records by record id and original dataset (truth/foreign.json) — never by a dataset name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from zhijing.config import Settings
from zhijing.lake.store import current_files
from zhijing.model import places, read, types
from zhijing.sources.spec import load_spec


@dataclass
class City:
    settings: Settings
    truth: Path  # the generated city's truth folder
    names: dict[str, str]  # dataset name in this city -> the packaged name

    def original(self, dataset: str) -> str:
        return self.names.get(dataset, dataset)

    def mention(self, mention_id: str | None) -> str | None:
        """A person mention ``dataset|record_id|role`` under the packaged dataset name."""
        if not mention_id:
            return mention_id
        ds, rest = mention_id.split("|", 1)
        return f"{self.original(ds)}|{rest}"

    def links(self) -> pd.DataFrame:
        """mention (packaged names), master id, truth person id."""
        df = duckdb.connect().sql(f"SELECT mention_id, master_id FROM read_parquet("
                                  f"{current_files(self.settings, 'entities', 'person_links')!r})").df()  # fmt: skip
        df["mention_id"] = df.mention_id.map(self.mention)
        rp = pd.read_parquet(self.truth / "record_persons.parquet")
        rp["mention_id"] = rp.dataset + "|" + rp.record_id.astype(str) + "|" + rp.role
        return df.merge(rp[["mention_id", "person_id"]], on="mention_id", how="left")

    def masters_of(self, person_id: str) -> tuple[str, ...]:
        """The masters a truth person's mentions were resolved to, most mentions first."""
        df = self._links[self._links.person_id == person_id]
        return tuple(df.master_id.value_counts().index[:20])

    def person_of(self, master_id: str) -> str | None:
        """The truth person most of a master's mentions belong to."""
        return self._person.get(master_id)

    def __post_init__(self) -> None:
        self._links = self.links()
        counts = self._links.dropna().groupby(["master_id", "person_id"]).size().rename("n").reset_index()
        counts = counts.sort_values(["n", "person_id"], ascending=[False, True], kind="stable")
        self._person = counts.drop_duplicates("master_id").set_index("master_id").person_id.to_dict()


def _built(settings: Settings) -> None:
    from zhijing.derived.graph import edges
    from zhijing.derived.workbench import presence

    presence.build(settings)  # builds the model first
    edges.run(settings, "duckdb")


@pytest.fixture(scope="module")
def cities(small_city, resolved_city, tmp_path_factory) -> tuple[City, City]:
    """(the city under packaged names, the same city as the foreign city), both resolved."""
    from zhijing.entities.resolve import resolve_all
    from zhijing.governance.ingest import ingest_city
    from zhijing.sources.generate.foreign import generate_foreign

    home = tmp_path_factory.mktemp("foreign") / "home"
    generate_foreign(small_city, home / "sources")
    settings = Settings(home=home, city_registry=False)
    summary = ingest_city(settings, home / "sources", progress=False)
    assert summary["totals"]["failed"] == 0 and summary["undeclared"] == []
    resolve_all(settings, progress=False)
    _built(settings)
    _built(resolved_city[0])
    names = json.loads((home / "truth" / "foreign.json").read_text(encoding="utf-8"))["datasets"]
    truth = small_city / "truth"
    return City(resolved_city[0], truth, {}), City(settings, truth, names)


def _structure(city: City, name: str) -> dict:
    return json.loads((city.truth / "structures" / f"{name}.json").read_text(encoding="utf-8"))


def test_the_foreign_home_sees_only_its_own_declarations(cities):
    _, foreign = cities
    spec = load_spec(foreign.settings)
    assert {d.name for d in spec.datasets} == set(foreign.names)
    assert not {d.name for d in spec.datasets} & set(foreign.names.values())
    assert {"dongfang_checkin", "haiyue_stays", "yongjiang_bank_flow", "haishu_bank_txn"} <= set(foreign.names)
    assert spec.geography["hotel"] == "dongfang_hotels" and "hotels" not in {r.name for r in spec.reference}


def _model_rows(city: City, name: str, person_roles: list[str]) -> pd.DataFrame:
    src = read.source(city.settings, name)
    df = duckdb.connect().sql(f"SELECT * EXCLUDE (source_line) FROM {src}").df()  # a split file numbers its own lines
    df["dataset"] = df.dataset.map(city.original)
    for role in person_roles:
        df[role] = df[role].map(city.mention)
    return df.astype(str).sort_values(list(df.columns)).reset_index(drop=True)


def test_the_model_holds_the_same_rows_under_other_dataset_names(cities):
    home, foreign = cities
    model = types.load(home.settings)
    compared = 0
    for name, ev in model.events.items():
        persons = [r for r, kind in ev.roles.items() if kind == "person"]
        a, b = _model_rows(home, name, persons), _model_rows(foreign, name, persons)
        pd.testing.assert_frame_equal(a, b, obj=f"model/{name}")
        compared += len(a)
    assert compared > 100_000


def test_the_same_mentions_are_resolved_together(cities):
    home, foreign = cities
    a, b = home.links(), foreign.links()
    assert len(a) == len(b)
    pair = a.merge(b, on="mention_id", suffixes=("_home", "_foreign"))
    assert len(pair) == len(a)
    # one master here is one master there: the partitions of the mentions are equal
    assert (pair.groupby("master_id_home").master_id_foreign.nunique() == 1).all()
    assert (pair.groupby("master_id_foreign").master_id_home.nunique() == 1).all()


def _planted(city: City) -> list[str]:
    crew, fug = _structure(city, "burglary_crew"), _structure(city, "fugitive")
    return [*crew["members"], fug["fugitive"], fug["accomplice"], *_structure(city, "fraud_ring")["ring"][:2]]


def test_trajectories_of_the_planted_persons_are_the_same(cities):
    from zhijing.derived.workbench.subjects import Subject
    from zhijing.derived.workbench.trajectory import trajectory

    home, foreign = cities

    def points(city: City, person: str) -> list[tuple]:
        got = trajectory(city.settings, Subject("person", city.masters_of(person)), limit=5000)
        return sorted((city.original(p["dataset"]), str(p["record_id"]), p["ts"], p["place_id"], p["mode"]) for p in got["points"])

    for person in _planted(home):
        mine = points(home, person)
        assert mine, person
        assert points(foreign, person) == mine, person


def test_companions_of_the_planted_index_persons_are_the_same(cities):
    from zhijing.derived.workbench.companions import companions
    from zhijing.derived.workbench.subjects import Subject

    home, foreign = cities
    crew, fug = _structure(home, "burglary_crew"), _structure(home, "fugitive")

    def ranked(city: City, person: str) -> list[tuple]:
        got = companions(city.settings, Subject("person", city.masters_of(person)), limit=15)["companions"]
        return [(city.person_of(c["subject"]), round(c["score"], 6), c["events"], c["places"], tuple(c["kinds"])) for c in got]

    for person in (crew["members"][0], fug["fugitive"]):
        mine = ranked(home, person)
        assert mine and mine[0][0] is not None
        assert ranked(foreign, person) == mine, person


def test_collision_over_the_crew_scenes_is_the_same(cities):
    from zhijing.derived.workbench.collision import collide
    from zhijing.derived.workbench.windows import parse

    home, foreign = cities
    crew = _structure(home, "burglary_crew")
    events = pd.read_parquet(home.truth / "structures" / "crime_events.parquet").set_index("event_id").loc[crew["event_ids"]]
    cps = duckdb.connect().sql(f"SELECT * FROM {places.gazetteer(home.settings, 'checkpoint')}").df()
    specs = []
    for ev in events.itertuples():  # the two checkpoints nearest each scene, an hour either side
        t = pd.Timestamp(ev.time)
        t = t.tz_localize("Asia/Shanghai") if t.tzinfo is None else t
        near = cps.iloc[np.argsort(np.hypot(cps.lon - ev.lon, cps.lat - ev.lat))[:2]].code.tolist()
        specs.append({"kind": "checkpoint", "value": near,
                      "start": (t - timedelta(hours=1)).isoformat(), "end": (t + timedelta(hours=1)).isoformat()})  # fmt: skip
    k = max(2, len(specs) - 1)

    def hits(city: City) -> list[tuple]:
        got = collide(city.settings, parse(city.settings, specs), k=k, limit=50)["hits"]
        return sorted((h["kind"], city.person_of(h["subject"]) if h["kind"] == "person" else h["subject"], h["windows"], h["records"])
                      for h in got)  # fmt: skip

    mine = hits(home)
    assert ("plate", crew["plate"]) in {h[:2] for h in mine}
    assert hits(foreign) == mine


def test_two_hops_from_a_mule_account_reach_the_same_nodes(cities):
    from zhijing.derived.graph import service

    home, foreign = cities
    fraud = _structure(home, "fraud_ring")
    mule = next(a for a in fraud["mule_accounts"] if isinstance(a, str))

    def reached(city: City) -> tuple[set, set]:
        g = service.graph(city.settings)
        sub = g.expand([service.node_of(g, f"A:{mule}")], hops=2, limit=100_000, max_nodes=1_000_000)
        nodes = {str(g.ids[n]) for n in sub.nodes}
        persons = {city.person_of(n[2:]) for n in nodes if n.startswith("P:")}
        edges = {(str(g.ids[g.src[e]]), str(g.ids[g.dst[e]]), g.type_name(e)) for e in sub.edges}
        edges = {e for e in edges if not (e[0].startswith("P:") or e[1].startswith("P:"))}
        return {n for n in nodes if not n.startswith("P:")} | persons, edges

    nodes, edges = reached(home)
    assert len(nodes) > 10 and any(e[2] == "transfer" for e in edges)
    assert reached(foreign) == (nodes, edges)


# --- 神鹰, contact tracing and hot spots ----------------------------------------------------


def test_shenying_flags_the_same_accounts_and_company(cities):
    from zhijing.derived.risk import fundraising, mules

    home, foreign = cities
    fund = _structure(home, "fundraising")
    as_of = pd.Timestamp(fund["collapse"])

    def answers(city: City) -> tuple:
        m = mules.score(city.settings, pd.Timestamp("2026-07-01"))
        f = fundraising.score(city.settings, as_of)
        return sorted(m[m.flagged].account), f.head(5).drop(columns=[c for c in f.columns if "dataset" in c]).astype(str).to_dict("records")

    mine = answers(home)
    assert mine[0] and mine[1]
    assert answers(foreign) == mine


def test_contact_tracing_finds_the_same_contacts(cities):
    from zhijing.derived.risk import contacts

    home, foreign = cities
    index_persons = sorted(pd.read_parquet(home.truth / "structures" / "epidemic_contacts.parquet").index_person_id.unique())

    def found(city: City) -> set:
        index = [m for p in index_persons for m in city.masters_of(p)[:1]]
        out = contacts.trace_contacts(city.settings, index)
        return set(zip(out.index_master.map(city.person_of), out.contact_master.map(city.person_of), out.channel, strict=True))

    mine = found(home)
    assert mine
    assert found(foreign) == mine


def test_hot_spots_forecast_the_same_cells(cities):
    from zhijing.derived.risk import hotspots

    home, foreign = cities
    mine = hotspots.forecast(home.settings, pd.Timestamp("2026-05-01"))
    assert mine
    assert hotspots.forecast(foreign.settings, pd.Timestamp("2026-05-01")) == mine
