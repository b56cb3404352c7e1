"""Shared fixtures: one small generated city per test session, reused by every suite."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from zhijing.config import Settings

# The suite draws the same property-test examples every run (CI never refuses a landing on a new
# random draw); `HYPOTHESIS_EXPLORE=1 make test` draws fresh ones. A case found goes in as an @example.
hypothesis_settings.register_profile("fixed", derandomize=True, print_blob=True)
if not os.environ.get("HYPOTHESIS_EXPLORE"):
    hypothesis_settings.load_profile("fixed")


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> Path:
    """A 10^4-person city (sources + truth), generated once per run: the test workers (pytest-xdist)
    share one copy under the run's base folder, the first to ask generates it under a lock (the
    sources are only read, never written, by the tests)."""
    from zhijing.sources.generate.testing import small_city as make

    root = _run_root(tmp_path_factory)
    with _locked(root / "cities.lock"):
        return make(root / "cities")


def _run_root(tmp_path_factory) -> Path:
    """The run's base folder, which every test worker's own base folder sits in."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path`` across the run's test workers."""
    import fcntl

    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


SHARED_SERVICES = re.compile(r"postgres|nats|jetstream|pgrouting", re.IGNORECASE)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``--dist loadgroup``) a module's tests run on one worker, so its module
    fixtures (a seeded app, a browser) are built once; every module that uses the shared test
    PostgreSQL or NATS runs on one worker, in turn, as they share tables and streams."""
    shared: dict[Path, bool] = {}
    for item in items:
        path = Path(item.module.__file__)
        if path not in shared:
            shared[path] = bool(SHARED_SERVICES.search(path.read_text(encoding="utf-8")))
        item.add_marker(pytest.mark.xdist_group("services" if shared[path] else item.module.__name__))


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """Settings rooted in a fresh temporary home (never ./var)."""
    return Settings(home=tmp_path / "home")


class ApiClient:
    """A TestClient on a fresh app with the demo organisation and logins."""

    def __init__(self, client, logins: dict[str, str]):
        self.client = client
        self.logins = logins

    def headers(self, user: str, purpose: str | None = None) -> dict[str, str]:
        r = self.client.post("/api/auth/token", data={"username": user, "password": self.logins[user]})
        assert r.status_code == 200, r.text
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        if purpose:
            h["X-Purpose"] = purpose
        return h

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.fixture()
def make_api(monkeypatch):
    """make_api(home) -> ApiClient serving the platform rooted at ``home``."""
    from fastapi.testclient import TestClient

    from zhijing.config import get_settings, reset_settings

    def make(home: Path) -> ApiClient:
        monkeypatch.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        from zhijing.access.seed import seed_demo
        from zhijing.api.app import create_app

        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        return ApiClient(TestClient(create_app()), logins)

    yield make
    reset_settings()


@pytest.fixture()
def api(settings, make_api) -> ApiClient:
    return make_api(settings.home)


@contextlib.contextmanager
def _module_client(home: Path, **client_args):
    from fastapi.testclient import TestClient

    from zhijing.access.seed import seed_demo
    from zhijing.api.app import create_app
    from zhijing.config import get_settings, reset_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHIJING_HOME", str(home))
        reset_settings()
        logins = {u: p for u, p, _ in seed_demo(get_settings())}
        yield ApiClient(TestClient(create_app(), **client_args), logins)
    reset_settings()


@pytest.fixture(scope="module")
def module_api(tmp_path_factory):
    """One ApiClient on a fresh home for a whole test module (seeding the demo logins costs
    seconds): its tests keep to their own accounts and client addresses."""
    with _module_client(tmp_path_factory.mktemp("api") / "home") as client:
        yield client


@pytest.fixture(scope="module")
def resolved_api(resolved_city):
    """One ApiClient on the resolved small city for a whole test module; a server error
    answers 500 instead of raising (the bad-input tests look at the status)."""
    with _module_client(resolved_city[0].home, raise_server_exceptions=False) as client:
        yield client





@pytest.fixture(scope="session")
def resolved_city(small_city, tmp_path_factory):
    """(settings, city) with the small city ingested and resolved: built once per run (the first
    worker to ask builds it under a lock), copied into each worker's own home, which its tests
    may change."""
    import pickle
    import shutil

    root = _run_root(tmp_path_factory)
    pristine = root / "resolved-city"
    with _locked(root / "resolved.lock"):
        if not (pristine / "summary.pickle").exists():
            shutil.rmtree(pristine, ignore_errors=True)
            summary = _resolve(Settings(home=pristine / "home"), small_city)
            (pristine / "summary.pickle").write_bytes(pickle.dumps(summary))
    home = tmp_path_factory.mktemp("resolved")
    shutil.copytree(pristine / "home", home, dirs_exist_ok=True)
    return Settings(home=home), small_city, pickle.loads((pristine / "summary.pickle").read_bytes())


def _resolve(s: Settings, city: Path) -> dict:
    """Ingest, resolve and build as the command line's refresh after resolve: analyses read the model."""
    from zhijing.entities.resolve import resolve_all
    from zhijing.governance.ingest import ingest_city
    from zhijing.model.build import build as build_model
    from zhijing.serving.build import build

    ingest_city(s, city / "sources", progress=False)
    summary = resolve_all(s, progress=False)
    build_model(s)
    build(s)
    return summary


@pytest.fixture(scope="session")
def live_server():
    """live_server(home) -> a context manager serving the app (see ``_live_server``)."""
    return _live_server


@contextlib.contextmanager
def _live_server(home: Path):
    """The real app on a free loopback port, served by uvicorn in a thread, with the demo
    organisation seeded: yields (base URL, logins). Concurrency and browser tests use it."""
    import os
    import socket
    import threading
    import time

    import uvicorn

    from zhijing.access.seed import seed_demo
    from zhijing.config import get_settings, reset_settings

    old = os.environ.get("ZHIJING_HOME")
    os.environ["ZHIJING_HOME"] = str(home)
    reset_settings()
    logins = {u: p for u, p, _ in seed_demo(get_settings())}
    from zhijing.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:  # waited 10 s, then went on regardless: a slow start was refused connections, a failed one a puzzle
        deadline = time.monotonic() + 60
        while not srv.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not srv.started:
            raise RuntimeError(f"the test server on port {port} did not start")
        yield f"http://127.0.0.1:{port}", logins
    finally:
        srv.should_exit = True
        thread.join(10)
        if old is None:
            os.environ.pop("ZHIJING_HOME", None)
        else:
            os.environ["ZHIJING_HOME"] = old
        reset_settings()


@pytest.fixture()
def postgres():
    """(url, engine) of the test PostgreSQL (``ZHIJING_TEST_PG``); skips when it is not reachable."""
    import os

    import sqlalchemy as sa

    url = os.environ.get("ZHIJING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        eng = sa.create_engine(url)
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    return url, eng


@pytest.fixture()
def audit_pg(postgres):
    """(url, engine) of the test PostgreSQL with no audit tables yet."""
    import sqlalchemy as sa

    with postgres[1].begin() as c:
        c.execute(sa.text("drop table if exists audit_events, audit_heads, audit_meta, audit_commit"))
    return postgres


CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium: never a browser Playwright downloads
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, one per test module; skips where it is not installed."""
    import os
    import shutil

    path = shutil.which("chromium") or CHROMIUM
    if not os.path.exists(path):
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(server, browser):
    """One desktop-sized page per browser-test module, on that module's ``server``; page
    errors collected in ``page.errors``."""
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    pg.set_default_timeout(20_000)
    pg.errors = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    yield pg
