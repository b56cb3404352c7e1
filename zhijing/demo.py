"""``zhijing demo``: the newcomer's path on the embedded default.

Generates a city (if there is none), ingests it into the lake, resolves persons, seeds a
demo organisation with logins, and starts the console. Each step is the same function
the step's own command runs.
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.panel import Panel

from zhijing.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        persons: int = typer.Option(20_000, help="people in the generated city (10^4 .. 10^7)"),
        seed: int = typer.Option(7, help="random seed of the city"),
        serve: bool = typer.Option(True, help="start the console when done"),
        port: int = 8000,
        live: bool = typer.Option(True, help="replay the city's 110 calls and plate reads and drive its units (一体化指挥)"),
        speed: float = typer.Option(60.0, help="replay this many times faster than the calls came (60: an hour a minute)"),
    ) -> None:
        """Generate a city, ingest it, resolve persons, seed logins and start the console."""
        settings = get_settings()
        from zhijing.sources.generate.city import generate_city

        manifest = settings.city_dir / "truth" / "manifest.json"
        if manifest.exists():
            console.print(f"[dim]city already generated at {settings.city_dir} (delete it to regenerate)[/dim]")
        else:
            console.rule("1/4 生成城市 generate the city")
            generate_city(settings.city_dir, persons=persons, seed=seed)

        console.rule("2/4 汇聚治理 ingest and govern")
        from zhijing.governance.cli import summary_table
        from zhijing.governance.ingest import ingest_city

        console.print(summary_table(ingest_city(settings)))

        console.rule("3/4 一人一档 resolve persons")
        from zhijing.entities.resolve import resolve_all

        resolve_all(settings)
        score_against_truth(settings, settings.city_dir, console)
        from zhijing.serving.build import build

        with console.status("发布服务库 building the serving store"):
            build(settings)
        from zhijing.derived.workbench.jobs import refresh

        refresh(settings)  # presence table and search index for the workbench
        from zhijing.derived.graph.edges import run as build_graph

        build_graph(settings)  # 关系研判: the relationship graph's edges

        console.rule("4/4 用户与授权 organisation and logins")
        from zhijing.access.seed import seed_demo

        logins = seed_demo(settings)
        name_applicant(settings)  # the station's 户籍证明 ticket opens the resident it names
        from zhijing.access.guard import load_user
        from zhijing.public.service import ensure_station_purpose

        ensure_station_purpose(settings, load_user(settings, "paichusuo01").unit)  # the station's desk for the citizens' requests
        from zhijing.derived.risk.loop import demo_models

        demo_models(settings, settings.city_dir, console)  # scored model cards; today's warnings in the inboxes
        from zhijing.cases.procedure.demo import demo_year

        year = demo_year(settings)  # 执法办案: a county's year of cases up to now, its property, supervision's flags
        console.print(f"[dim]执法办案: {year['cases']:,} cases replayed ({year['refused']} unlawful steps refused), "
                      f"the demo case's procedure {year['linked']}, flags {sum(year['flags'].values()):,}[/dim]")  # fmt: skip
        lines = [f"http://127.0.0.1:{port}/", ""]
        lines += [f"{user:<14} {password:<18} {what}" for user, password, what in logins]
        if live:
            lines += ["", f"指挥调度 city command   http://127.0.0.1:{port}/login?next=/console/command   (zhihui01)",
                      f"勤务指挥 station duty   http://127.0.0.1:{port}/login?next=/console/duty      (paichusuo01)",
                      f"移动警务 patrol phone   http://127.0.0.1:{port}/login?next=/m                 (xunluo01; a 390 px window)"]
        lines += ["", f"为民服务 citizens       http://127.0.0.1:{port}/gov   (no login: a resident's name, ID and registered phone)",
                  f"为民服务受理 the desk   http://127.0.0.1:{port}/login?next=/console/gov-desk   (paichusuo01)"]
        lines += ["", "密码仅显示这一次，不以明文保存 · shown once, stored nowhere in clear",
                  "(`zhijing access seed-demo` sets new ones)"]  # fmt: skip
        console.print(Panel("\n".join(lines), title="智警 zhijing — log in", expand=False))
        if serve:
            from zhijing.api.cli import run

            # the demo's export rule: a file showing sensitive fields (citizen IDs) waits for a second officer (双人审批),
            # so an investigator's export reaches the approval a 科长 or 大队长 gives (a deployment sets its own)
            os.environ.setdefault("ZHIJING_EXPORTS__APPROVAL_GRADE", "sensitive")
            from zhijing.config import reset_settings

            reset_settings()

            city = None
            if live:  # units driven by the simulator (started with the app), calls replayed into the store
                os.environ["ZHIJING_DISPATCH__SIMULATE"] = "true"
                reset_settings()
                try:
                    city = LiveCity(get_settings(), speed=speed, auto_dispatch_s=45).start()
                    console.print(f"[dim]一体化指挥: replaying the city's 110 calls and plate reads at {speed:g}× "
                                  "(units driven on the streets)[/dim]")  # fmt: skip
                except Exception as exc:  # noqa: BLE001 — the console still serves; the reason in one line
                    console.print(f"[yellow]一体化指挥 not started: {type(exc).__name__}: {exc}[/yellow]")
            try:
                run("127.0.0.1", port)
            finally:
                if city:
                    city.stop()


def name_applicant(settings, candidates: int = 2000) -> str | None:
    """Name a resident of the demo station's jurisdiction with a household record as the
    applicant of its 户籍证明 ticket (a ticket opens only the persons it names)."""
    import duckdb

    from zhijing.access.guard import load_user
    from zhijing.access.scope import in_jurisdiction, jurisdiction
    from zhijing.access.seed import DEMO_TICKET, name_subjects
    from zhijing.lake.store import current_files
    from zhijing.serving.person_file import places_of

    links, mentions = (current_files(settings, "entities", n) for n in ("person_links", "person_mentions"))
    if not links or not mentions:
        return None
    with duckdb.connect() as con:  # its own connection: the module's default one is shared by every thread
        ids = [m for (m,) in con.execute(f"SELECT DISTINCT l.master_id FROM read_parquet({links!r}) l JOIN read_parquet({mentions!r}) m "
                                         f"USING (mention_id) WHERE m.dataset = 'hukou_person' ORDER BY 1 LIMIT {candidates}").fetchall()]  # fmt: skip
    station = jurisdiction(load_user(settings, "paichusuo01").unit)
    placed = places_of(settings, ids)
    found = next((m for m in ids if in_jurisdiction(station, placed.get(m, []))), None)
    if found:
        name_subjects(settings, DEMO_TICKET, [found])
    return found


def score_against_truth(settings, city_dir, console) -> None:
    """Say how right the person master is: the generated city plants who is who."""
    import duckdb

    from zhijing.entities.evaluate import identifiable, read_truth, score
    from zhijing.lake.store import current_files

    con = duckdb.connect()
    links = con.execute(f"SELECT mention_id, master_id FROM read_parquet({current_files(settings, 'entities', 'person_links')!r})").df()
    mentions = con.execute(f"SELECT mention_id, citizen_id, id_raw, phone FROM "
                           f"read_parquet({current_files(settings, 'entities', 'person_mentions')!r})").df()  # fmt: skip
    truth = read_truth(city_dir)
    every, ided = score(links, truth), score(links, truth, identifiable(mentions))
    console.print(f"对照植入真值 against the planted truth: precision {every.precision:.4f}, recall {every.recall:.4f}, "
                  f"F1 {every.f1:.4f}; records with an ID or a phone F1 {ided.f1:.4f} (a name alone is kept apart by design)",
                  highlight=False)  # fmt: skip


class LiveCity:
    """The demo's living city (一体化指挥): the lake's 110 calls replayed as if ringing now —
    published on ``cad.calls``, triaged by intake and recorded as incidents of the command store
    — and its checkpoint reads on ``cad.reads``, matched against the watchlists as they arrive;
    the units are seeded at their stations first (the simulator in the app drives them), and
    with ``auto_dispatch_s`` a stand-in dispatcher sends a unit to calls no one has taken.
    One broker (the in-process queue, NATS JetStream when configured) and an event loop of its
    own in a daemon thread beside the web app. ``send_calls`` / ``send_reads`` put chosen events
    on the same path (the browser test replays the call and the read it follows)."""

    def __init__(self, settings, speed: float = 60.0, lake: bool = True, limit: int | None = None, max_gap_s: float = 5.0,
                 auto_dispatch_s: float | None = None):  # fmt: skip
        self.settings, self.speed, self.lake, self.limit, self.max_gap_s = settings, speed, lake, limit, max_gap_s
        self.auto_dispatch_s = auto_dispatch_s
        self.loop = asyncio.new_event_loop()
        self.stopped, self.ready = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._run, name="zhijing-live-city", daemon=True)
        self.broker = self.tally = self.error = None

    def start(self, timeout: float = 120) -> LiveCity:
        """Start, and return once calls can be sent (the call classifier and gazetteer loaded)."""
        self.thread.start()
        self.ready.wait(timeout)
        if self.error is not None:
            raise self.error
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def send_calls(self, calls: list[dict], timeout: float = 60) -> int:
        """Publish ``calls`` on ``cad.calls`` now (each as the replay sends one)."""
        return self._send("calls", calls, timeout)

    def send_reads(self, reads: list[dict], timeout: float = 60) -> int:
        """Publish checkpoint reads on ``cad.reads`` now."""
        return self._send("reads", reads, timeout)

    def _send(self, what: str, events: list[dict], timeout: float) -> int:
        from zhijing.command import replay

        subject = replay.CALLS if what == "calls" else replay.READS
        job = replay.publish(self.broker, subject, events, speed=1e9, max_gap_s=0)
        return asyncio.run_coroutine_threadsafe(job, self.loop).result(timeout)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except Exception as exc:  # noqa: BLE001 — said once on the console; the web app keeps serving
            self.error = exc
            if self.ready.is_set():
                console.print(f"[red]一体化指挥 replay stopped: {type(exc).__name__}: {exc}[/red]")
            self.ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        from zhijing.command import replay, store, watch
        from zhijing.command.intake import Intake

        settings = self.settings
        await asyncio.to_thread(store.seed_units, settings)  # the city's units at their stations (kept if there)
        intake = Intake(settings)
        await asyncio.to_thread(intake.triage, {"narrative": ""})  # the classifier and gazetteer, before the clock starts
        self.broker, owned = await replay.open_broker(settings)
        self.tally, done = replay.Tally(), asyncio.Event()
        tasks = [asyncio.create_task(replay.consume(self.broker, intake, replay.store_sink(settings), self.tally, done)),
                 asyncio.create_task(watch.consume(settings, self.broker, replay.READS, stop=self.stopped))]  # fmt: skip
        if self.auto_dispatch_s is not None:
            tasks.append(asyncio.create_task(self._dispatcher()))
        lake = len(tasks)
        if self.lake:
            calls = await asyncio.to_thread(replay.calls_from_model, settings, self.limit)
            reads = await asyncio.to_thread(replay.reads_from_model, settings, self.limit)
            tasks += [asyncio.create_task(replay.publish(self.broker, replay.CALLS, calls, self.speed, self.max_gap_s)),
                      asyncio.create_task(replay.publish(self.broker, replay.READS, reads, self.speed, self.max_gap_s))]  # fmt: skip
        self.ready.set()
        try:
            while not self.stopped.is_set():
                await asyncio.sleep(0.2)
        finally:
            done.set()
            for t in tasks[lake:] + tasks[2:lake]:  # the lake's publishers and the stand-in dispatcher; the consumers drain and end
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if owned:
                await self.broker.close()

    async def _dispatcher(self) -> None:
        from zhijing.command import recommend

        cache = recommend.cache_for(self.settings)
        while not self.stopped.is_set():
            await asyncio.to_thread(self.dispatch_waiting, cache)
            await asyncio.sleep(2)

    def dispatch_waiting(self, cache) -> list[tuple[str, str]]:
        """The demo's stand-in dispatcher, so that units drive while a newcomer looks on: a call
        no one has dispatched within ``auto_dispatch_s`` goes to the fastest unit by road that
        has no officer on a phone (the simulator takes its steps). A person dispatching first
        is never overruled; a unit taken meanwhile is skipped. Returns (incident, unit) pairs."""
        from zhijing.command import recommend, store
        from zhijing.errors import Conflict

        settings, now = self.settings, datetime.now(UTC)
        waiting = [i for i in store.incidents(settings, None, True, 500, 0)["items"] if i["state"] == "received" and i["lon"] is not None
                   and (now - i["received_at"]).total_seconds() >= self.auto_dispatch_s]  # fmt: skip
        pool = [u for u in store.units(settings) if not u.get("username")] if waiting else []
        sent = []
        for inc in sorted(waiting, key=lambda i: (i["priority"] or 3, i["received_at"])):
            best = recommend.recommend(settings, inc["lon"], inc["lat"], pool, k=1, streets=cache)
            if not best:
                continue
            try:
                store.assign(settings, inc["id"], best[0]["unit"], "simulator")
            except Conflict:
                continue
            sent.append((inc["id"], best[0]["unit"]))
            pool = [u for u in pool if u["id"] != best[0]["unit"]]
        return sent
