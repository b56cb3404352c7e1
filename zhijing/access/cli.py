"""``zhijing units|users|purposes|audit|oversight|access`` — administration from the shell."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from zhijing.config import get_settings
from zhijing.errors import ZhijingError

console = Console()


def _table(title: str, rows: list[dict]) -> None:
    t = Table(title=title)
    for c in rows[0].keys() if rows else ["(none)"]:
        t.add_column(str(c))
    for r in rows:
        t.add_row(*[str(v) for v in r.values()])
    console.print(t)


def register(app: typer.Typer) -> None:
    from zhijing.access import models, seed

    units = typer.Typer(help="公安机关单位 units (省厅/市局/分局/派出所)", no_args_is_help=True)
    users = typer.Typer(help="用户 officers and external accounts", no_args_is_help=True)
    purposes = typer.Typer(help="用途 cases, tickets, orders, emergencies", no_args_is_help=True)
    audit = typer.Typer(help="审计 the tamper-evident audit trail", no_args_is_help=True)
    oversight = typer.Typer(help="督察 misuse flags", no_args_is_help=True)
    access = typer.Typer(help="access layer set-up", no_args_is_help=True)
    for name, sub in (("units", units), ("users", users), ("purposes", purposes), ("audit", audit),
                      ("oversight", oversight), ("access", access)):  # fmt: skip
        app.add_typer(sub, name=name)

    @units.command("add")
    def units_add(code: str, name: str, tier: str, parent: str = typer.Option(None)) -> None:
        seed.add_unit(get_settings(), code, name, tier, parent)

    @units.command("list")
    def units_list() -> None:
        with models.engine(get_settings()).connect() as conn:
            _table("units", [dict(r._mapping) for r in conn.execute(sa.select(models.units))])

    @users.command("add")
    def users_add(username: str, name: str, unit: str, department: str,
                  password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
                  roles: str = "officer", clearance: int = 1, external: bool = False) -> None:  # fmt: skip
        seed.add_user(get_settings(), username, name, unit, department, password, roles, clearance, "external" if external else "officer")
        console.print(f"user {username} created")

    @users.command("list")
    def users_list() -> None:
        with models.engine(get_settings()).connect() as conn:
            cols = [c for c in models.users.c if c.name != "password_hash"]
            _table("users", [dict(r._mapping) for r in conn.execute(sa.select(*cols))])

    @users.command("totp")
    def users_totp(username: str, remove: bool = typer.Option(False, "--remove", help="drop the second factor")) -> None:
        """Enrol USER in a TOTP second factor (RFC 6238): prints the otpauth:// URI for an authenticator app."""
        from zhijing.access import totp

        settings = get_settings()
        with models.engine(settings).connect() as conn:
            if conn.execute(sa.select(models.users.c.username).where(models.users.c.username == username)).first() is None:
                raise ZhijingError(f"no user {username!r}")
        if remove:
            console.print(f"second factor of {username} removed" if totp.remove(settings, username) else "none enrolled")
            return
        console.print(f"scan or type into the authenticator app of {username} (shown once):")
        print(totp.enrol(settings, username))


    def purposes_add(ref: str, title: str, unit: str, assign: list[str] = typer.Option([]), days: int = typer.Option(None)) -> None:
        expires = datetime.now(UTC) + timedelta(days=days) if days else None
        if ref.startswith("emergency:") and not expires:
            raise ZhijingError("an emergency needs an expiry (--days)")
        seed.add_purpose(get_settings(), ref, title, unit, assign, expires_at=expires)

    @purposes.command("list")
    def purposes_list(user: str = typer.Option(None, help="only the purposes this user is assigned to"),
                      open_only: bool = typer.Option(False, "--open", help="only open purposes")) -> None:  # fmt: skip
        """Every purpose (the id to send as X-Purpose or --purpose), its status and who is assigned."""
        with models.engine(get_settings()).connect() as conn:
            assigned: dict[str, list[str]] = {}
            for ref, username in conn.execute(sa.select(models.assignments.c.ref, models.assignments.c.username)
                                              .order_by(models.assignments.c.username)):  # fmt: skip
                assigned.setdefault(ref, []).append(username)
            p = models.purposes.c
            q = sa.select(p.ref, p.title, p.unit_code, p.status, p.expires_at).order_by(p.ref)
            rows = [{**r._mapping, "expires_at": r.expires_at or "", "assigned": ", ".join(assigned.get(r.ref, []))}
                    for r in conn.execute(q.where(p.status == "open") if open_only else q)]  # fmt: skip
        _table("purposes", [r for r in rows if user is None or user in assigned.get(r["ref"], [])])

    @purposes.command("close")
    def purposes_close(ref: str) -> None:
        seed.set_purpose_status(get_settings(), ref, "closed")

    @audit.command("verify")
    def audit_verify() -> None:
        """Check the chain, every column, every signed head (seals and the commit head) against
        the pinned key, the heads' own chain and consistency proofs, and the witness files; exit 1
        on any finding, an entry no signed head covers included."""
        from zhijing.access.audit.store import log_for

        v = log_for(get_settings()).verify()
        counts = (f"{v.entries:,} entries chained, {v.seals_checked} sealed heads; entries no head signs {v.tail:,}; "
                  f"missing heads {v.missing_heads}; "
                  f"heads not witnessed {v.unwitnessed_heads}; entries truncated {v.truncated:,}")  # fmt: skip
        if v.ok:
            console.print(f"[green]ok[/green]: {counts}")
            return
        console.print(f"[red]BROKEN[/red]: {v.reason}" + (f" (at entry {v.first_broken})" if v.first_broken else ""))
        for p in v.problems[1:]:
            console.print(f"  also: {p}")
        console.print(counts)
        raise typer.Exit(1)

    @audit.command("seal")
    def audit_seal() -> None:
        from zhijing.access.audit.store import log_for

        head = log_for(get_settings()).seal()
        console.print(json.dumps(head, ensure_ascii=False, indent=1) if head else "nothing to seal")

    @audit.command("prove")
    def audit_prove(seq: int) -> None:
        from zhijing.access.audit.store import log_for

        try:
            console.print_json(json.dumps(log_for(get_settings()).inclusion(seq)))
        except KeyError as exc:
            raise ZhijingError(str(exc.args[0])) from None

    @audit.command("purge")
    def audit_purge(days: int = typer.Option(None, help="keep this many days (default: audit_retention_days, 1095 = PIPL's 3 years)")) -> None:
        """Remove audit entries past retention, keeping a signed checkpoint (never below 6 months, CSL Art. 21)."""
        from zhijing.access.jobs import purge_audit

        console.print(f"removed {purge_audit(get_settings(), days):,} entries")

    @oversight.command("list")
    def oversight_list(status: str = typer.Option(None)) -> None:
        from zhijing.access import oversight as ov

        _table("flags", [{k: v for k, v in f.items() if k != "evidence"} for f in ov.list_flags(get_settings(), status)])

    @oversight.command("review")
    def oversight_review(flag_id: int, decision: str, reviewer: str, note: str = "") -> None:
        from zhijing.access import oversight as ov

        try:
            ov.review(get_settings(), flag_id, decision, reviewer, note)
        except (KeyError, ValueError) as exc:
            raise ZhijingError(f"cannot review flag {flag_id}: {exc}") from None

    @app.command("init")
    def init() -> None:
        """Prepare a fresh deployment: its folders and the data center's operator account (no login)."""
        from zhijing.access import operator

        settings = get_settings()
        for folder in (settings.state_dir, settings.lake_dir, settings.home / "sources"):
            folder.mkdir(parents=True, exist_ok=True)
        console.print(f"deployment at {settings.home.resolve()}; operator account {operator.ensure(settings)!r} "
                      f"(unit {operator.UNIT}); declare sources in {settings.home / 'sources'}", highlight=False)  # fmt: skip
    @access.command("grant-push")
    def grant_push(department: str, dataset: str) -> None:
        """Let a department's accounts push a dataset ("*": every dataset)."""
        from zhijing.access import grants

        grants.grant(get_settings(), department, "ingest:push", dataset)
        console.print(f"{department} may push {dataset}")

    @access.command("revoke-push")
    def revoke_push(department: str, dataset: str) -> None:
        from zhijing.access import grants

        grants.revoke(get_settings(), department, "ingest:push", dataset)

    @access.command("grants")
    def grants_list() -> None:
        """Every grant (push scopes) in force."""
        from zhijing.access import grants

        _table("grants", grants.listed(get_settings()))

    @access.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo organisation and print its logins: new passwords, shown once and
        stored nowhere in clear."""
        for user, password, what in seed.seed_demo(get_settings()):
            console.print(f"{user:<14} {password:<18} {what}")
        console.print("[dim]shown once: the passwords are stored nowhere in clear (run this again for new ones)[/dim]")
