"""What the browser tests do as a user: log in (language and purpose chosen), read a toast.
The module-scoped ``page`` fixture is in tests/conftest.py; each module brings its ``server``."""

from __future__ import annotations


def login(page, server, user: str, purpose: str | None = None, lang: str = "zh") -> None:
    base, logins = server
    page.goto(f"{base}/login")
    page.evaluate("([l]) => { sessionStorage.clear(); localStorage.setItem('zj.lang', l); }", [lang])
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", logins[user])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    if purpose:
        page.evaluate("([p]) => sessionStorage.setItem('zj.purpose', p)", [purpose])


def toast(page) -> str:
    page.wait_for_selector("#toast:not([hidden])")
    text = page.inner_text("#toast")
    page.evaluate("document.getElementById('toast').hidden = true")
    return text


def build_analyses(settings) -> None:
    """The workbench's presence table and search index and the relationship graph (built
    once: the derived suites' fixtures reuse them)."""
    if not (settings.home / "index" / "search").exists():
        from zhijing.derived.workbench.jobs import refresh

        refresh(settings)
    from zhijing.derived.graph import edges

    edges.run(settings, "duckdb")
