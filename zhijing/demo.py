"""``zhijing demo``: the newcomer's path on the embedded default.

Generates a city (if there is none), ingests it into the lake, resolves persons, seeds a
demo organisation with logins, and starts the console. Each step is the same function
the step's own command runs.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.panel import Panel

from zhijing.config import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        persons: int = typer.Option(20_000, help="people in the generated city (10^4 .. 10^7)"),
        seed: int = typer.Option(7, help="random seed of the city"),
        serve: bool = typer.Option(True, help="start the console when done"),
        port: int = 8000,
    ) -> None:
        """Generate a city, ingest it, resolve persons, seed logins and start the console."""
        settings = get_settings()
        from zhijing.sources.generate.city import generate_city

        manifest = settings.city_dir / "truth" / "manifest.json"
        if manifest.exists():
            console.print(f"[dim]city already generated at {settings.city_dir} (delete it to regenerate)[/dim]")
        else:
            console.rule("1/4 生成城市 generate the city")
            generate_city(settings.city_dir, persons=persons, seed=seed)

        console.rule("2/4 汇聚治理 ingest and govern")
        from zhijing.governance.cli import summary_table
        from zhijing.governance.ingest import ingest_city

        console.print(summary_table(ingest_city(settings)))

        console.rule("3/4 一人一档 resolve persons")
        from zhijing.entities.resolve import resolve_all

        resolve_all(settings)
        from zhijing.serving.build import build

        with console.status("发布服务库 building the serving store"):
            build(settings)
        from zhijing.derived.workbench.jobs import refresh

        refresh(settings)  # presence table and search index for the workbench
        from zhijing.derived.graph.edges import run as build_graph

        build_graph(settings)  # 关系研判: the relationship graph's edges

        console.rule("4/4 用户与授权 organisation and logins")
        from zhijing.access.seed import seed_demo

        logins = seed_demo(settings)
        from zhijing.derived.risk.loop import demo_models

        demo_models(settings, settings.city_dir, console)  # scored model cards; today's warnings in the inboxes
        lines = [f"http://127.0.0.1:{port}/", ""]
        lines += [f"{user:<14} {password:<18} {what}" for user, password, what in logins]
        lines += ["", "密码仅显示这一次，不以明文保存 · shown once, stored nowhere in clear",
                  "(`zhijing access seed-demo` sets new ones)"]  # fmt: skip
        console.print(Panel("\n".join(lines), title="智警 zhijing — log in", expand=False))
        if serve:
            from zhijing.api.cli import run

            run("127.0.0.1", port)
