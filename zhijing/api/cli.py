"""``zhijing serve``: the API and console."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
        """Start the API and console (http://HOST:PORT)."""
        import uvicorn

        from zhijing.api.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
