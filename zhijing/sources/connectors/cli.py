"""``zhijing stream replay|consume``: sensor streams through NATS JetStream."""

from __future__ import annotations

import asyncio

import typer

from zhijing.config import get_settings
from zhijing.errors import ZhijingError


def register(app: typer.Typer) -> None:
    stream_app = typer.Typer(help="Sensor streams (checkpoint reads, door access).", no_args_is_help=True)
    app.add_typer(stream_app, name="stream")

    @stream_app.command("replay")
    def replay(dataset: str) -> None:
        """Publish a stream dataset's JSONL (under <home>/city/sources) to NATS."""
        from zhijing.sources.connectors.base import DEFAULT_LINE_CAP, sha256_file
        from zhijing.sources.connectors.stream import NatsBroker, replay_jsonl
        from zhijing.sources.spec import load_spec

        settings = get_settings()
        spec = load_spec().dataset(dataset)
        if spec.format != "stream":
            raise ZhijingError(f"{dataset} is not a stream dataset")
        path = settings.city_dir / "sources" / spec.path

        async def run() -> int:
            broker = await NatsBroker(settings.nats.url, settings.nats.stream).connect()
            try:
                return await replay_jsonl(broker, path, spec.subject or dataset, sha256_file(path), DEFAULT_LINE_CAP)
            finally:
                await broker.close()

        typer.echo(f"published {asyncio.run(run()):,} messages to {spec.subject}")

    @stream_app.command("consume")
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
        typer.echo(f"{dataset}: in {summary.rows_in} clean {summary.clean} quarantined {summary.quarantined} "
                   f"duplicates {summary.duplicates}")  # fmt: skip
