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
        workers: int = typer.Option(None, min=1, max=64, help="worker processes (default: settings web_workers)"),
        ssl_certfile: Path = typer.Option(None, help="TLS certificate (PEM): serve HTTPS"),
        ssl_keyfile: Path = typer.Option(None, help="TLS private key (PEM)"),
    ) -> None:  # fmt: skip
        """Start the API and console (http://HOST:PORT, or https:// with a certificate)."""
        run(host, port, workers, ssl_certfile, ssl_keyfile)


def run(host: str, port: int, workers: int | None = None, ssl_certfile: Path | None = None,
        ssl_keyfile: Path | None = None) -> None:  # fmt: skip
    """Serve the app with the scheduler running beside it (seals, oversight, retention).

    Several worker processes each take requests (Python runs one thread of bytecode per
    process at a time); the scheduler runs once, in this supervising process."""
    import uvicorn

    from zhijing.api import scheduler
    from zhijing.api.app import create_app
    from zhijing.config import get_settings

    sched = scheduler.start(get_settings())
    tls = {k: str(v) for k, v in (("ssl_certfile", ssl_certfile), ("ssl_keyfile", ssl_keyfile)) if v}
    try:
        n = workers or get_settings().web_workers
        if n > 1:
            uvicorn.run("zhijing.api.app:create_app", factory=True, host=host, port=port, workers=n, **UVICORN, **tls)
        else:
            uvicorn.run(create_app(), host=host, port=port, **UVICORN, **tls)
    finally:
        sched.shutdown(wait=False)
