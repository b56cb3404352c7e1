"""``zhijing export ftm``: a case's subjects and evidence, or a graph neighbourhood, as a
FollowTheMoney entity stream — through the very export the API serves (a stated reason,
policy, need to know, masking, the second officer's approval above the thresholds, the
watermark and the audit trail), as the named user."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from zhijing.errors import ZhijingError


def register(app: typer.Typer) -> None:
    export = typer.Typer(help="导出 exports (audited, approved above the thresholds)", no_args_is_help=True)
    app.add_typer(export, name="export")

    @export.command("ftm")
    def ftm(
        out: Path = typer.Option(..., "--out", help="file to write (JSON lines of FtM entities)"),
        user: str = typer.Option(..., help="your username"),
        reason: str = typer.Option(None, help="导出事由: why (at least 4 characters)"),
        case: str = typer.Option(None, "--case", help="a case ref (case:…): its subjects and evidence"),
        graph_subject: str = typer.Option(None, "--graph-subject", help="KIND:KEY (person:PM…, account:…, phone:…, plate:…, company:…)"),
        hops: int = typer.Option(2, min=1, max=3, help="the neighbourhood's hops (with --graph-subject)"),
        purpose: str = typer.Option(None, help="case:/ticket:/order:/emergency: (default: the case)"),
        request: str = typer.Option(None, help="download an export request a second officer approved"),
    ) -> None:  # fmt: skip
        """Write FollowTheMoney entities (Aleph / OpenAleph, ftm tools) — checked and audited like the API."""
        from zhijing.access.cli_access import run_as
        from zhijing.cases import routes as _case_target  # noqa: F401 - each registers its export target
        from zhijing.config import get_settings
        from zhijing.derived.graph import routes as _graph_target  # noqa: F401
        from zhijing.entities import export_routes

        if (case is None) == (graph_subject is None):
            raise ZhijingError("name one thing to export: --case REF or --graph-subject KIND:KEY")
        purpose = purpose or case
        if not purpose:
            raise ZhijingError("--purpose is required for a graph neighbourhood")
        if case is not None:
            permission, target = "case:export", export_routes.FTM_CASE + case
        else:
            permission, target = "person:export", f"{export_routes.FTM_GRAPH}{hops}:{graph_subject}"
        if request:
            action = lambda ctx: export_routes.download_export(request, "html", ctx)  # noqa: E731
        else:
            action = lambda ctx: export_routes.export_at_once(ctx, target, reason)  # noqa: E731
        response = run_as(get_settings(), user, purpose, permission, f"cli export ftm {target.split(':', 1)[0]}", action)
        out.write_bytes(response.body)
        Console(stderr=True).print(f"FtM export {response.headers['x-export-id']} written to {out}", highlight=False)
