"""``zhijing stream replay``: sensor streams through NATS JetStream (``stream consume`` also
cleans what arrived, so it is wired at the top: zhijing/pipeline.py)."""

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
