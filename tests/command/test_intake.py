"""110 intake (接处警): the call generator's labels, the classifier against its baseline on held-out
phrasings, location against the true station, bad input kept and flagged, duplicates merged,
plans linked, and the replay through the in-process queue and NATS JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re

import pandas as pd
import pytest

from zhijing.command import classify, dedup, locate, plans, replay
from zhijing.command.intake import Intake, text_flags
from zhijing.config import Settings
from zhijing.sources.generate import calls

FLOOR_F1 = 0.85  # the model's weighted F1 on held-out phrasings must reach this


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> classify.Trained:
    return classify.train(Settings(home=tmp_path_factory.mktemp("clf")))


@pytest.fixture(scope="module")
def lake(resolved_city):
    settings, city, _ = resolved_city
    return settings, city, locate.load(settings)


@pytest.fixture(scope="module")
def intake(lake, trained) -> Intake:
    return Intake(lake[0], trained=trained, gazetteer=lake[2])


def test_generated_calls_are_labelled_varied_and_noisy():
    train = calls.corpus(800, 1, "train")
    held = calls.corpus(400, 2, "heldout")
    assert set(train.category) == set(calls.categories())
    assert set(train.priority) == {1, 2, 3}
    index = lambda df: df.template.str.split("/").str[1].astype(int)  # noqa: E731
    assert (index(held) % 4 == 3).all() and (index(train) % 4 != 3).all()  # no held-out phrasing is trained on
    kinds = set(",".join(train.noise).split(","))
    assert {"typo", "filler", "pinyin", "english", "traditional", "fullwidth", "abuse", "no_place", "cut"} <= kinds
    assert train.narrative.str.contains(r"[a-z]{2,}").any() and (train.narrative == "").any()
    assert calls.corpus(50, 3).equals(calls.corpus(50, 3))  # a seed is a corpus


def test_model_beats_the_baseline_on_held_out_phrasings(trained):
    results = classify.evaluate(trained, classify.heldout_corpus(1000, 7))
    base, model = results["baseline"], results["model"]
    print(f"\nheld-out weighted F1: baseline {base['weighted_f1']:.3f}, model {model['weighted_f1']:.3f}; "
          f"priority accuracy: baseline {base['priority_accuracy']:.3f}, model {model['priority_accuracy']:.3f}")  # fmt: skip
    print("per class (baseline, model):", {c: (base["per_class"][c], v) for c, v in model["per_class"].items()})
    assert model["weighted_f1"] >= base["weighted_f1"]
    assert model["weighted_f1"] >= FLOOR_F1
    assert min(model["per_class"].values()) > 0.5  # no category is lost to its neighbours
    assert model["priority_accuracy"] > 0.7 and model["urgent_recall"] > 0.75


def test_the_classifier_is_cached_under_home_and_reloaded(tmp_path, trained):
    settings = Settings(home=tmp_path)
    path = classify.cache_path(settings)
    assert not path.exists()
    path.parent.mkdir(parents=True)
    import joblib

    joblib.dump(trained, path)
    assert classify.train(settings).key == trained.key  # loaded, not retrained
    assert str(path).startswith(str(tmp_path / "models"))


def test_noise_is_read_as_the_word_meant(trained):
    said = ["我的电动车被投了", "wo de dian dong che bei tou le", "樓裡有很重的煙味，好像哪家著火了", "ｈｅｌｐ 有人打架，地上有血"]
    cats, _, conf = trained.model.predict(said)
    assert list(cats) == ["盗窃", "盗窃", "火灾", "打架斗殴"]
    assert conf[1] > trained.baseline.predict(said)[2][1] + 0.3  # pinyin: the baseline only guesses
    noise = classify.by_noise(trained, classify.heldout_corpus(1500, 8))
    print("\nheld-out accuracy by noise (calls, baseline, model):", {k: tuple(v.values()) for k, v in noise.items()})
    for kind in ("typo", "pinyin", "traditional"):
        assert noise[kind]["model"] >= noise[kind]["baseline"] + 0.03, kind


def _addresses(gaz: locate.Gazetteer, n: int, seed: int) -> list[tuple[str, str, float, float]]:
    """n standard addresses as (full text, station, lon, lat), from the lake's own layer."""
    r = random.Random(seed)
    picks = r.sample(range(len(gaz.keys)), n)
    return [("".join(gaz.prefix) + gaz.keys[i], gaz.rows[i][3], gaz.rows[i][1], gaz.rows[i][2]) for i in picks]


def test_location_hit_rate_on_spoken_addresses(lake):
    settings, _, gaz = lake
    r = random.Random(5)
    sample = _addresses(gaz, 400, 5)
    spoken = [calls.spoken_address(r, text)[0] for text, *_ in sample]
    truth = [station for _, station, _, _ in sample]
    by_address = locate.hit_rate(gaz, [{"address": s} for s in spoken], truth)
    by_coords = locate.hit_rate(gaz, [{"lon": x, "lat": y} for _, _, x, y in sample], truth)
    print(f"\nlocated to the true station: spoken address {by_address:.3f}, phone coordinates {by_coords:.3f}")
    assert by_address >= 0.9
    assert by_coords >= 0.9  # the jurisdiction polygons agree with the addresses' stations
    cut_typo = [s for s, (_, kinds) in zip(spoken, [calls.spoken_address(random.Random(i), t) for i, (t, *_) in enumerate(sample)],
                                           strict=True) if "typo" in kinds]  # fmt: skip
    assert cut_typo  # the fuzzy path is exercised


def test_the_lake_incidents_are_read_as_the_truth_says(lake, intake, trained):
    settings, city, _ = lake
    truth = pd.read_parquet(city / "truth" / "structures" / "calls_110.parquet").set_index("record_id")
    lake_calls = [c for c in replay.calls_from_model(settings) if c["record"] in truth.index]
    assert len(lake_calls) > 300
    texts = [c["narrative"] or "" for c in lake_calls]
    want = truth.loc[[c["record"] for c in lake_calls]]
    cats, prios, _ = trained.model.predict(texts)
    from sklearn.metrics import f1_score

    f1 = f1_score(want.category, cats, average="weighted")
    located = locate.hit_rate(intake.gazetteer, lake_calls, want.station.tolist())
    print(f"\nlake incidents: weighted F1 {f1:.3f}, priority accuracy {(prios == want.priority.to_numpy()).mean():.3f}, "
          f"located to the true station {located:.3f}")  # fmt: skip
    assert f1 >= FLOOR_F1 and located >= 0.9


BAD = [
    ({"narrative": ""}, {"empty_text"}),
    ({"narrative": None, "address": None, "lon": None, "lat": None}, {"empty_text"}),
    ({"narrative": "你们他妈的快点！有人打架", "lon": 100.0, "lat": 20.0}, {"abusive", "outside_city"}),
    ({"narrative": "bei tou le wo de dian dong che", "address": "不知道在哪"}, {"mixed_script", "unparsed"}),
    ({"narrative": "樓裡有煙味", "lon": "abc", "lat": float("nan")}, {"mixed_script", "bad_coords"}),
    ({"narrative": 12345, "address": 678, "received_at": "yesterday"}, {"unparsed"}),
    ({"narrative": "🔥" * 5000, "address": "x" * 10000}, {"empty_text", "unparsed"}),
]


@pytest.mark.parametrize(("call", "flags"), BAD)
def test_bad_input_is_kept_and_flagged_never_raised(intake, call, flags):
    t = intake.triage(call)
    assert flags <= set((t["flag"] or "").split(","))
    assert t["category"] in calls.categories() and t["priority"] in (1, 2, 3) and t["plan"].startswith("YA-")
    assert t["located"] in ("address", "coords", "none")
    if "outside_city" in flags:
        assert (t["lon"], t["lat"], t["station"]) == (100.0, 20.0, None)  # kept as given, no jurisdiction


def test_a_standard_address_is_located_to_its_station_cell_and_plan(intake, lake):
    text, station, lon, lat = _addresses(lake[2], 1, 11)[0]
    t = intake.triage({"narrative": "喂，110吗？有人正在撬门，里面好像没人", "address": text, "phone": "13800000000"})
    assert (t["located"], t["station"], t["flag"]) == ("address", station, None)
    assert re.fullmatch(r"89[0-9a-f]{13}", t["cell"]) and abs(t["lon"] - lon) < 1e-5
    assert t["category"] == "盗窃" and t["priority"] == 1 and t["plan"] == "YA-盗窃-1"
    assert t["plan_detail"]["tier"] == "branch" and t["phone"] == "13800000000"
    json.dumps(t, ensure_ascii=False)  # what goes on the store and the bus


def test_text_flags():
    assert text_flags("。。。") == ["empty_text"] and text_flags("有人打架") == []
    assert text_flags("TMD 快来") == ["abusive"] and text_flags("車被偷了") == ["mixed_script"]
    assert text_flags("KTV门口有人打架，ATM旁边") == [] and text_flags("ｈｅｌｐ 有人打架") == ["mixed_script"]
    assert text_flags("wo de che bei tou le") == ["mixed_script"]


def test_duplicates_of_one_event_merge_to_the_primary():
    t0 = "2026-06-01T10:00:00+08:00"
    primary = {"id": "JQ1", "category": "火灾", "received_at": t0, "lon": 121.5500, "lat": 29.8700}
    merged = {"id": "JQ2", "category": "火灾", "received_at": t0, "lon": 121.5501, "lat": 29.8701, "parent": "JQ1"}
    call = {"category": "火灾", "received_at": "2026-06-01T02:10:00+00:00", "lon": 121.5520, "lat": 29.8710}
    assert dedup.duplicate_of(call, [primary, merged]) == "JQ1"  # 10 min, ~220 m: same fire
    assert dedup.duplicate_of(call, [merged]) == "JQ1"  # a duplicate points at its primary
    assert dedup.duplicate_of({**call, "category": "盗窃"}, [primary]) is None  # another kind of event
    assert dedup.duplicate_of({**call, "received_at": "2026-06-01T02:30:00+00:00"}, [primary]) is None  # 30 min later
    assert dedup.duplicate_of({**call, "lon": 121.56}, [primary]) is None  # ~1 km away
    assert dedup.duplicate_of(call, [primary], metres_max=100) is None  # the setting is honoured
    naive = {**primary, "received_at": pd.Timestamp("2026-06-01 02:00:00").to_pydatetime()}  # the store's UTC, naive
    assert dedup.duplicate_of(call, [naive]) == "JQ1"
    assert dedup.duplicate_of({**call, "lon": None, "lat": None, "address_code": "DZ1"}, [{**primary, "address_code": "DZ1"}]) == "JQ1"
    assert dedup.duplicate_of({**call, "received_at": None}, [primary]) is None


def test_every_category_and_grade_has_a_plan():
    p = plans.load()
    for cat in calls.categories():
        for prio in (1, 2, 3):
            plan = plans.plan_for(p, cat, prio)
            assert plan["id"] == f"YA-{cat}-{prio}" and plan["steps"] and plan["tier"] in ("city", "branch", "station")
    assert plans.plan_for(p, "没有的类别", None)["id"] == "YA-通用-2"
    assert "119" in plans.plan_for(p, "火灾", 1)["linkage"]


def test_replay_in_memory_drops_duplicates_orders_and_keeps_bad_messages(lake, intake):
    settings = lake[0]
    events = replay.calls_from_model(settings, limit=30)
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    sent = events[::-1] + events[:5]  # out of order, five sent twice
    from zhijing.sources.connectors.stream import MemoryBroker

    class Leaky(MemoryBroker):  # a broker that does not drop repeated message ids
        async def publish(self, subject, payload, msg_id=None):
            await super().publish(subject, payload, None)

    broker = Leaky()
    got: list[dict] = []

    async def run():
        await broker.publish(replay.CALLS, b"{not json", None)
        return await replay.replay_async(settings, got.append, speed=1e9, reads=True, broker=broker, intake=intake, calls=sent, limit=50)

    tally = asyncio.run(run())
    assert tally.published == 35 and tally.duplicates == 5 and tally.triaged == 31 and tally.stored == 31
    assert tally.reads == 50 and len(broker.log[replay.READS]) == 50
    read = json.loads(broker.log[replay.READS][0])
    assert read["type"] == "pass" and read["vehicle"] and read["time"] == read["ts"] and read["id"].endswith(read["record_id"])
    assert {g["source_id"] for g in got if g.get("source_id")} == {e["id"] for e in events}
    bad = [g for g in got if "bad_message" in (g.get("flag") or "")]
    assert len(bad) == 1 and bad[0]["narrative"] == "{not json"


def test_replay_compresses_time_by_speed():
    times = ["2026-01-01T00:00:00+08:00", "2026-01-01T01:00:00+08:00", "2026-01-01T00:30:00+08:00", None, "2026-01-02T00:00:00+08:00"]
    assert replay.offsets(times, speed=60, max_gap_s=120) == [0.0, 60.0, 60.0, 60.0, 180.0]


@pytest.mark.nats
def test_replay_through_nats_jetstream(lake, intake):
    import uuid

    from zhijing.sources.connectors.stream import NatsBroker

    async def connect():
        try:
            return await NatsBroker("nats://127.0.0.1:4222", replay.STREAM, replay.SUBJECTS).connect()
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"NATS not reachable: {type(exc).__name__}")

    run_id = uuid.uuid4().hex[:8]
    events = [{**e, "id": f"{e['id']}#{run_id}"} for e in replay.calls_from_model(lake[0], limit=10)]
    got: list[dict] = []

    async def run():
        broker = await connect()
        try:
            await replay.ensure_consumer(broker, f"test-{run_id}")  # from now on: not the stream's history
            for e in events[:3]:  # re-published within JetStream's window: dropped by the broker
                await broker.publish(replay.CALLS, json.dumps(e).encode(), msg_id=e["id"])
            return await replay.replay_async(lake[0], got.append, speed=1e9, reads=False, broker=broker, intake=intake,
                                             calls=events, durable=f"test-{run_id}")  # fmt: skip
        finally:
            with contextlib.suppress(Exception):
                await broker.js.delete_consumer(replay.STREAM, f"test-{run_id}")
            await broker.close()

    tally = asyncio.run(run())
    mine = [g for g in got if str(g.get("source_id", "")).endswith(run_id)]
    assert sorted(g["source_id"] for g in mine) == sorted(e["id"] for e in events)
    assert tally.published == 10 and tally.triaged == len(mine)  # nothing of earlier runs


def test_replay_into_the_store_merges_calls_about_one_event(lake, intake, tmp_path):
    from zhijing.command import store

    settings = lake[0].model_copy(update={"metadata_url": f"sqlite:///{tmp_path / 'meta.db'}"})  # the lake, a store of its own
    events = [e for e in replay.calls_from_model(settings, limit=40) if e["address"]][:12]
    first = events[0]
    again = {**first, "id": first["id"] + "-again", "narrative": first["narrative"]}  # a second caller, same event
    tally = replay.replay(settings, replay.store_sink(settings), speed=1e9, reads=False, intake=intake, calls=[*events, again])
    assert tally.stored == 13 and not tally.failed
    rows = store.incidents(settings, open_only=False, limit=100)["items"]
    assert len(rows) == 13 and all(r["source"] == "replay" for r in rows)
    merged = [r for r in rows if r.get("parent")]
    assert len(merged) == 1 and merged[0]["narrative"] == first["narrative"]
