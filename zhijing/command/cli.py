"""``zhijing dispatch``: replay the lake's 110 calls, train and evaluate the call classifier."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings

out = Console()


def _scores_table(results: dict[str, dict]) -> Table:
    names = list(results)
    table = Table(title="held-out calls: F1 per category (weighted), priority accuracy")
    table.add_column("category")
    for n in names:
        table.add_column(n, justify="right")
    for c in results[names[0]]["per_class"]:
        table.add_row(c, *(f"{results[n]['per_class'][c]:.3f}" for n in names))
    table.add_row("[b]weighted F1", *(f"[b]{results[n]['weighted_f1']:.3f}" for n in names))
    table.add_row("priority accuracy", *(f"{results[n]['priority_accuracy']:.3f}" for n in names))
    table.add_row("urgent recall", *(f"{results[n]['urgent_recall']:.3f}" for n in names))
    return table


def register(app: typer.Typer) -> None:
    dispatch = typer.Typer(help="Command and dispatch (一体化指挥): 110 intake replay, call classifier.", no_args_is_help=True)
    app.add_typer(dispatch, name="dispatch")

    @dispatch.command("replay")
    def replay_cmd(
        speed: float = typer.Option(60.0, help="how many times faster than the calls came (60: an hour a minute)"),
        limit: int = typer.Option(None, help="at most this many calls (and plate reads)"),
        reads: bool = typer.Option(True, help="also replay checkpoint plate reads on cad.reads"),
        max_gap: float = typer.Option(5.0, help="never wait longer than this many seconds between two events"),
    ) -> None:
        """Replay the lake's 110 calls (in-process queue, or NATS when stream = nats) through intake."""
        from zhijing.command.replay import replay, store_sink

        settings = get_settings()
        tally = replay(settings, store_sink(settings), speed=speed, limit=limit, reads=reads, max_gap_s=max_gap)
        out.print(f"published {tally.published:,} calls ({tally.reads:,} plate reads); triaged {tally.triaged:,}, "
                  f"{tally.flagged:,} flagged for a person, {tally.duplicates:,} duplicate messages dropped, "
                  f"{tally.stored:,} stored, {len(tally.failed):,} failed", highlight=False)  # fmt: skip
        for f in tally.failed[:10]:
            out.print(f"  failed: {f}", highlight=False)

    @dispatch.command("train")
    def train_cmd(force: bool = typer.Option(False, help="retrain even when a cached model exists")) -> None:
        """Train the call classifier (model and baseline) on generated calls; cached under home/models."""
        from zhijing.command import classify

        settings = get_settings()
        classify.train(settings, force=force)
        out.print(f"trained: {classify.cache_path(settings)}", highlight=False)

    @dispatch.command("evaluate")
    def evaluate_cmd() -> None:
        """Per-category F1 of the model and the baseline on held-out generated calls; on the lake's
        incidents, agreement with the category the source gave and with its handling unit's station."""
        from zhijing.command import classify
        from zhijing.command.replay import on_lake

        settings = get_settings()
        trained = classify.train(settings)
        held = classify.heldout_corpus()
        out.print(_scores_table(classify.evaluate(trained, held)))
        noise = Table(title="held-out calls by noise: category accuracy")
        for col in ("noise", "calls", "baseline", "model"):
            noise.add_column(col, justify="left" if col == "noise" else "right")
        for kind, row in classify.by_noise(trained, held).items():
            noise.add_row(kind, str(row["calls"]), f"{row['baseline']:.3f}", f"{row['model']:.3f}")
        out.print(noise)
        lake = on_lake(settings, trained)
        if lake:
            out.print(f"lake: {lake['calls']:,} incidents; category as the source gave it: model {lake['model']:.3f}, "
                      f"baseline {lake['baseline']:.3f}; located to the handling unit's station {lake['station']:.3f}",
                      highlight=False)  # fmt: skip
