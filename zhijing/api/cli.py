"""``zhijing serve``: the API and console."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = "127.0.0.1", port: int = 8000,
              workers: int = typer.Option(None, min=1, max=64, help="worker processes (default: settings web_workers)")) -> None:  # fmt: skip
        """Start the API and console (http://HOST:PORT)."""
        run(host, port, workers)


def run(host: str, port: int, workers: int | None = None) -> None:
    """Serve the app with the scheduler running beside it (seals, oversight, retention).

    Several worker processes each take requests (Python runs one thread of bytecode per
    process at a time); the scheduler runs once, in this supervising process."""
    import uvicorn

    from zhijing.api import scheduler
    from zhijing.api.app import create_app
    from zhijing.config import get_settings

    sched = scheduler.start(get_settings())
    try:
        n = workers or get_settings().web_workers
        if n > 1:
            uvicorn.run("zhijing.api.app:create_app", factory=True, host=host, port=port, workers=n, log_level="warning")
        else:
            uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        sched.shutdown(wait=False)
