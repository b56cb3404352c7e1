"""The commands that run several layers in turn, wired here at the top (docs/layers.md):
each layer's own ``cli`` keeps the commands that stay inside it, so no package below calls
one above it.

- ``zhijing ingest``: land and standardize (governance), build the model, refresh the
  workbench's presence table and search index;
- ``zhijing resolve``: resolve the person masters (entities), build the serving store,
  refresh the workbench and the relationship graph's edges (both join the masters);
- ``zhijing sources add``: profile and declare a file (sources), check its model mappings
  (model), list it in the catalog (governance); ``zhijing sources check``: every declaration,
  model mappings included;
- ``zhijing oversight run``: the misuse rules (access) with the households of the serving
  store;
- ``zhijing stream consume``: drain a sensor stream (sources), clean what arrived
  (governance), build the model and match it against the watchlist (command);
- after every model build they run, the new rows are matched against the watchlist
  (``build_and_watch``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings
from zhijing.errors import ZhijingError

console = Console()


def _group(app: typer.Typer, name: str) -> typer.Typer:
    """A sub-command group a layer's ``register`` already added (``stream``, ``sources``)."""
    return next(g.typer_instance for g in app.registered_groups if g.name == name)


def build_and_watch(settings):
    """Build the model, then match what it added against the watchlist (智能布控): a record
    that lands by ingest or by the stream hits a watch as soon as the model holds it.
    Returns (the build's report, the new hits)."""
    from zhijing.command import watch

    return watch.build_and_match(settings)


def model_rows(settings, datasets: set[str]) -> tuple[list[dict], int]:
    """Per ingested dataset and model type: the model rows, and those without a usable time
    or place (kept in the model zone, left out of trajectories and companions: said here,
    never dropped silently); and the watchlist's new hits."""
    report, hits = build_and_watch(settings)
    out = []
    for key, rows in sorted(report.by_dataset.items()):
        kind, ds = key.split("/", 1)
        if ds in datasets:
            out.append({"dataset": ds, "type": kind, "rows": rows, "untimed": report.untimed.get(key, 0),
                        "unplaced": report.unplaced.get(key, 0)})  # fmt: skip
    return out, len(hits)


def model_table(rows: list[dict]) -> Table:
    t = Table(title="model rows (docs/model.md): without a usable time or place they reach no trajectory")
    for col in ("dataset", "type", "rows", "without time", "without place"):
        t.add_column(col, justify="left" if col in ("dataset", "type") else "right")
    for r in rows:
        t.add_row(r["dataset"], r["type"], f"{r['rows']:,}", *(f"[yellow]{r[k]:,}[/yellow]" if r[k] else "0" for k in ("untimed", "unplaced")))
    return t


def register(app: typer.Typer) -> None:
    @_group(app, "sources").command("add")
    def add(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="the department's CSV file"),
        name: str = typer.Option(None, help="dataset name: lower-case letters, digits, _ (default: the file's name)"),
        title: str = typer.Option(None, help="资源名称 (default: the name)"),
        owner: str = typer.Option("未登记", help="owner department"),
        yes: bool = typer.Option(False, "--yes", "-y", help="save the proposal unchanged (scripts)"),
    ) -> None:
        """Profile FILE, propose its declaration (data elements, person roles, model mappings), save it on confirmation."""
        from zhijing.governance import catalog
        from zhijing.model.check import declared
        from zhijing.sources.cli import show
        from zhijing.sources.declarations import NAME, dump, load_file
        from zhijing.sources.profile import profile_file, propose
        from zhijing.sources.spec import load_spec

        settings = get_settings()
        if file.suffix.lower() in (".xlsx", ".xls", ".db", ".sqlite", ".jsonl", ".json", ".parquet"):
            raise ZhijingError(f"{file.suffix} files are not profiled: declare them by hand in <home>/sources (docs/sources.md)")
        name = name or re.sub(r"[^a-z0-9_]+", "_", file.stem.lower()).strip("_")
        if not NAME.match(name):
            raise ZhijingError("--name must be lower-case letters, digits and _ (it names folders in the lake); "
                               "give one when the file's name is not")  # fmt: skip
        if name in {d.name for d in load_spec(settings).datasets} | {r.name for r in load_spec(settings).reference}:
            raise ZhijingError(f"dataset {name!r} is already declared (`zhijing sources list`)")
        with console.status(f"profiling {file.name}"):
            spec = propose(profile_file(file), name, title, owner)
        show(spec)
        if not yes and not typer.confirm("保存 save this declaration?", default=True):
            console.print("not saved: nothing was written (a choice, not a failure)")
            return
        folder = settings.home / "sources"
        target = folder / name / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
        declaration = folder / f"{name}.yaml"
        declaration.write_text(dump(spec, f"{spec.title}: declared by `zhijing sources add {file.name}`.\n"
                                             "Review the elements, person roles and model mappings; `zhijing sources check` validates."),
                               encoding="utf-8")  # fmt: skip
        saved, problems = load_file(declaration, declared)
        if problems:  # never leave a declaration that breaks every later command
            declaration.unlink()
            raise ZhijingError(f"the proposal did not validate: {problems[0]}")
        catalog.register_spec(settings, saved[0])  # the console's catalog lists it, with its profile, before any ingest
        console.print(f"saved {declaration} and {target}\nnext: zhijing ingest --dataset {name}", highlight=False)

    @app.command()
    def ingest(
        sources: Path = typer.Option(None, help="sources folder (default: <home>/city/sources)"),
        engine: str = typer.Option(None, help="duckdb (default) or spark"),
        dataset: list[str] = typer.Option(None, help="only these datasets"),
        progress: bool = typer.Option(True, help="show a progress bar"),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    ) -> None:
        """Land every source into the raw zone, standardize into clean, quarantine the rest."""
        from zhijing.derived.workbench.jobs import refresh
        from zhijing.governance import cli as governance_cli
        from zhijing.governance.ingest import ingest_city

        settings = get_settings()
        summary = ingest_city(settings, sources, engine or settings.engine, progress and not as_json, dataset or None)
        failed = summary["totals"]["failed"] or summary["undeclared"]
        if not failed:
            summary["model"], summary["watch_hits"] = model_rows(settings, {r["dataset"] for r in summary["datasets"]})
        if as_json:
            print(json.dumps(summary, ensure_ascii=False, indent=1))
        else:
            console.print(governance_cli.summary_table(summary))
            if any(r.get("files") for r in summary["datasets"]):
                console.print(governance_cli.files_table(summary))
            if summary.get("model"):
                console.print(model_table(summary["model"]))
            if summary.get("watch_hits"):
                console.print(f"智能布控 watchlist: {summary['watch_hits']} new hit(s) (GET /api/watch/hits)", highlight=False)
            for path in summary["undeclared"]:
                console.print(f"[red]undeclared:[/red] {path} is in a sources folder but no declaration names it "
                              f"(`zhijing sources add {path} --name NAME`)", highlight=False)  # fmt: skip
        if failed:
            raise typer.Exit(1)
        refresh(settings)  # the search index follows every published version


    @_group(app, "sources").command("check")
    def check() -> None:
        """Validate every declaration in <home>/sources; exit 1 listing file:line: field: problem."""
        from zhijing.model.check import declared
        from zhijing.sources.declarations import declaration_files, load_folder
        from zhijing.sources.spec import registry_part

        settings = get_settings()
        folder = settings.home / "sources"
        specs, problems = load_folder(folder, registry_part(settings.city_registry), declared)
        for p in problems:
            console.print(f"[red]{p}[/red]", highlight=False)
        if problems:
            raise typer.Exit(1)
        console.print(f"ok: {len(declaration_files(folder))} declaration file(s), {len(specs)} dataset(s) in {folder}",
                      highlight=False)  # fmt: skip

    @app.command()
    def resolve(engine: str = typer.Option(None, help="duckdb | spark (default: the configured engine)"),
                incremental: bool = typer.Option(False, help="link only records new since the last run")) -> None:  # fmt: skip
        """Resolve every person mention of the lake to master persons (Splink)."""
        engine = engine or get_settings().engine
        if engine not in ("duckdb", "spark"):
            raise ZhijingError("engine must be duckdb or spark")
        from zhijing.derived.workbench.jobs import refresh
        from zhijing.serving.build import build
        from zhijing.summary import summary_table

        if incremental:
            from zhijing.entities.incremental import link_new

            console.print(summary_table("一人一档 incremental link", link_new(get_settings())))
        else:
            from zhijing.entities.resolve import resolve_all

            console.print(summary_table("一人一档 person master", resolve_all(get_settings(), engine=engine)))
        with console.status("发布服务库 building the serving store"):
            counts = build(get_settings())
        console.print(summary_table("服务库 serving store, rows", counts))
        # the presence table and search index follow the masters
        console.print(summary_table("研判工作台 presence and search index", refresh(get_settings())))
        from zhijing.derived.graph.edges import run as build_graph

        with console.status("关系研判 the relationship graph's edges"):  # its persons are the masters: it follows them too
            console.print(summary_table("关系研判 graph", build_graph(get_settings(), engine)))

    @_group(app, "stream").command("consume")
    def consume_cmd(dataset: str) -> None:
        """Drain a subject from NATS into the raw zone and clean what arrived."""
        from zhijing.governance.engines import make_engine
        from zhijing.governance.ingest import DatasetSummary, clean_pending, consume_stream
        from zhijing.sources.spec import load_spec

        settings = get_settings()
        spec = load_spec().dataset(dataset)
        summary = DatasetSummary(dataset)
        consume_stream(settings, spec, None, summary)
        with make_engine(settings.engine, settings) as eng:
            clean_pending(settings, spec, eng, summary, [])
        _, hits = build_and_watch(settings)  # what arrived reaches the model, and the watchlist
        typer.echo(f"{dataset}: in {summary.rows_in} clean {summary.clean} quarantined {summary.quarantined} "
                   f"duplicates {summary.duplicates} watch hits {len(hits)}")  # fmt: skip

    @_group(app, "oversight").command("run")
    def oversight_run() -> None:
        """Run the misuse rules over the audit trail now (the server also runs them on a clock)."""
        from zhijing.api.scheduler import run_oversight

        console.print(f"{run_oversight(get_settings())} new flags")
