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


def nav(page, href: str) -> None:
    """Open a screen from the header's menu as a user does: unfold its group (研判 / 指挥 /
    治理 / 监督), then click the entry."""
    link = page.locator(f"header nav a[href='{href}']")
    link.wait_for(state="attached")
    page.wait_for_selector(f"header nav a[href='{href}']:not([hidden])", state="attached")
    group = page.locator(f"header nav details:has(a[href='{href}'])")
    if group.count() and not group.evaluate("d => d.open"):
        group.locator("summary").click()
    link.click()
