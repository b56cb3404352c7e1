"""``zhijing serve``: the API and console."""

from __future__ import annotations

from pathlib import Path

import typer

# Forwarded headers are read by zhijing.access.client (security.trusted_proxies), never by
# uvicorn, whose default believes X-Forwarded-For from 127.0.0.1 (issue 11: 6.6.6.6 stored).
UVICORN = {"proxy_headers": False, "server_header": False, "log_level": "warning"}


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = "127.0.0.1", port: int = 8000,
        ssl_certfile: Path = typer.Option(None, help="TLS certificate (PEM): serve HTTPS"),
        ssl_keyfile: Path = typer.Option(None, help="TLS private key (PEM)"),
    ) -> None:  # fmt: skip
        """Start the API and console (http://HOST:PORT, or https:// with a certificate)."""
        run(host, port, ssl_certfile, ssl_keyfile)


def run(host: str, port: int, ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None) -> None:
    """Serve the app with the scheduler running beside it (seals, oversight, retention)."""
    import uvicorn

    from zhijing.api import scheduler
    from zhijing.api.app import create_app
    from zhijing.config import get_settings

    sched = scheduler.start(get_settings())
    tls = {k: str(v) for k, v in (("ssl_certfile", ssl_certfile), ("ssl_keyfile", ssl_keyfile)) if v}
    try:
        uvicorn.run(create_app(), host=host, port=port, **UVICORN, **tls)
    finally:
        sched.shutdown(wait=False)
