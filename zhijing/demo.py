"""``zhijing demo``: the newcomer's path on the embedded default.

Generates a city (if there is none), ingests it into the lake, resolves persons, seeds a
demo organisation with logins, and starts the console. Each step is the same function
the step's own command runs.
"""

from __future__ import annotations

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
        from zhijing.derived.risk.loop import demo_models

        demo_models(settings, settings.city_dir, console)  # scored model cards; today's warnings in the inboxes
        lines = [f"http://127.0.0.1:{port}/", ""]
        lines += [f"{user:<14} {password:<18} {what}" for user, password, what in logins]
        lines += ["", "密码仅显示这一次，不以明文保存 · shown once, stored nowhere in clear",
                  "(`zhijing access seed-demo` sets new ones)"]  # fmt: skip
        console.print(Panel("\n".join(lines), title="智警 zhijing — log in", expand=False))
        if serve:
            from zhijing.api.cli import run

            run("127.0.0.1", port)


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
