"""``zhijing risk``: run the risk models on demand, list the model cards, score them
against a generated city's truth (the model contest)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

risk = typer.Typer(help="风险预警: models, runs and their evaluation", no_args_is_help=True)


@risk.command("run")
def run(model: str = typer.Argument("all", help="a model name, or all"), as_of: str | None = None) -> None:
    """Run a model now (as of a date; default its present: today, or its data's last day if earlier) and publish its warnings."""
    import pandas as pd

    from zhijing.config import get_settings
    from zhijing.derived.risk import loop
    from zhijing.derived.risk.registry import MODELS

    names = list(MODELS) if model == "all" else [model]
    for name in names:
        r = loop.run(get_settings(), name, pd.Timestamp(as_of) if as_of else None)
        typer.echo(f"{name}: {r['status']} {r.get('warnings', 0)} warnings {r.get('error') or ''}".rstrip())


@risk.command("models")
def models() -> None:
    """The model cards: version, data versions, evaluation, feedback precision."""
    from zhijing.config import get_settings
    from zhijing.derived.risk import loop

    typer.echo(json.dumps(loop.model_cards(get_settings()), ensure_ascii=False, indent=1, default=str))


@risk.command("evaluate")
def evaluate(city: Path = typer.Option(..., help="the generated city (its truth/ folder is read)")) -> None:
    """Score every model against the planted truth and write the scores to the model cards."""
    from zhijing.config import get_settings
    from zhijing.derived.risk.loop import evaluate_all

    typer.echo(json.dumps(evaluate_all(get_settings(), city), ensure_ascii=False, indent=1, default=float))


def register(app: typer.Typer) -> None:
    app.add_typer(risk, name="risk")
