"""``zhijing certificate verify|key|page`` — a certificate checked offline, with the public key only."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from zhijing.config import get_settings
from zhijing.errors import ZhijingError
from zhijing.public import check, signing
from zhijing.public import page as pages

console = Console()


def register(app: typer.Typer) -> None:
    cert = typer.Typer(help="证明 certificates issued to citizens: verify offline", no_args_is_help=True)
    app.add_typer(cert, name="certificate")

    @cert.command("verify")
    def verify(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="the certificate PDF, a photo of its QR code, or a text file of the payload"),
        key: list[str] = typer.Option(None, help="a published public key (hex), repeatable; default: this deployment's current and retired keys"),
        as_json: bool = typer.Option(False, "--json", help="print the verdict as JSON"),
    ) -> None:  # fmt: skip
        """Check a certificate's signature (QR code and embedded fields) against the public key; exit 1 if it fails."""
        keys = [k.strip().lower() for k in key] if key else signing.trusted_keys(get_settings())
        verdict = check.verify_file(file.read_bytes(), keys, check.today())
        if as_json:
            console.print_json(json.dumps({"ok": verdict.ok, "reason": verdict.reason, "fields": verdict.fields}, ensure_ascii=False))
        else:
            console.print(("[green]valid[/green]" if verdict.ok else "[red]INVALID[/red]") + f": {verdict.reason}", highlight=False)
            for k, v in verdict.fields.items():
                console.print(f"  {k}: {v}", highlight=False)
        if not verdict.ok:
            raise typer.Exit(1)

    @cert.command("key")
    def key() -> None:
        """Print the platform's certificate public key (hex), as published at /.well-known/zhijing-certificate-key.json."""
        console.print(signing.published_key(get_settings()), highlight=False)

    @cert.command("rotate")
    def rotate() -> None:
        """Retire the certificate signing key (its certificates still verify) and make a new one; publish the new key."""
        old, new = signing.rotate(get_settings())
        console.print(f"retired {signing.key_id(old)}; new key {signing.key_id(new)}: {new}", highlight=False)

    @cert.command("page")
    def page(out: Path = typer.Argument(..., dir_okay=False, help="where to write the self-contained verify page")) -> None:
        """Write the offline verify page (HTML, no server needed) with this deployment's public key."""
        if out.exists() and out.is_dir():
            raise ZhijingError(f"{out} is a folder")
        out.write_text(pages.verify_page(signing.trusted_keys(get_settings())), encoding="utf-8")
        console.print(f"wrote {out}")
