"""The ``zhijing`` command line: one Typer app, one sub-command group per package.

Each package that has jobs exposes ``register(app)`` in its own ``cli`` module; the list
below is the only place that knows them all, in data-flow order.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console

from zhijing.errors import ZhijingError

COMMAND_MODULES = (
    "zhijing.sources.generate.cli",  # generate
    "zhijing.sources.connectors.cli",  # stream replay
    "zhijing.sources.cli",  # sources check / list
    "zhijing.governance.cli",  # catalog, quarantine, purge
    "zhijing.model.cli",  # model types / build
    "zhijing.entities.cli",  # persons: show, links, judgements
    "zhijing.derived.workbench.cli",  # workbench build (presence, search index)
    "zhijing.derived.graph.cli",  # graph build
    "zhijing.derived.risk.cli",  # risk models: run, cards, evaluate
    "zhijing.command.cli",  # dispatch replay / train / evaluate
    "zhijing.cases.procedure.cli",  # procedure generate / replay / supervise (办案程序, 执法监督)
    "zhijing.public.cli",  # certificate verify / key / page (为民服务)
    "zhijing.access.cli",  # units, users, audit, oversight
    "zhijing.api.cli",  # serve
    "zhijing.pipeline",  # ingest, resolve, sources add, stream consume, oversight run: they call several layers
    "zhijing.api.cli_export",  # export ftm (through the API's export machinery)
    "zhijing.demo",  # demo
)

app = typer.Typer(
    name="zhijing",
    help="智警 zhijing — public-security data platform (lawful, purposeful, provable).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a package not built yet
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app)


@app.callback()
def _root() -> None:
    """智警 zhijing."""
    from zhijing.config import get_settings

    os.umask(get_settings().security.umask)  # the lake, password hashes and the audit trail: owner only


_register_all()


def main() -> None:
    """Entry point: expected failures become one line and a non-zero exit."""
    try:
        app()  # standalone: usage errors print their one-line message and exit 2
    except ZhijingError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(exc.exit_code)
