"""``zhijing serve``: the API and console."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
        """Start the API and console (http://HOST:PORT)."""
        run(host, port)


def run(host: str, port: int) -> None:
    """Serve the app with the scheduler running beside it (seals, oversight, retention)."""
    import uvicorn

    from zhijing.api import scheduler
    from zhijing.api.app import create_app
    from zhijing.config import get_settings

    sched = scheduler.start(get_settings())
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        sched.shutdown(wait=False)
