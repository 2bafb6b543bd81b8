"""Fixtures shared by every test package: databases on both engines, the Instacart sample, a scripted
index cloud, and headless Chromium with the folder its screenshots land in."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import structlog

from cartads.sample.instacart import Catalog, Order, load_catalog, load_orders
from tests.edge_node.sync_fakes import ScriptedCloud, start_scripted_cloud
from tests.storage_engines import fresh_pg_dsn

if TYPE_CHECKING:
    from playwright.async_api import Browser

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

CHROMIUM = os.environ.get("CARTADS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots of the browser tests, for people to look at (ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(autouse=True, scope="session")
def loggers_never_cached() -> Iterator[None]:
    """Tests that run a CLI in-process configure structlog to cache each logger on first use; a module's
    logger cached then would ignore ``capture_logs`` in every later test of the worker, so tests never cache."""
    configure = structlog.configure

    def configure_uncached(**settings: object) -> None:
        settings["cache_logger_on_first_use"] = False
        configure(**settings)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structlog, "configure", configure_uncached)
        yield


@pytest.fixture(autouse=True)
def logging_configuration_reset() -> Iterator[None]:
    """A test that runs a CLI in-process leaves structlog configured as that CLI wants it, e.g. dropping
    info lines; the next test in the worker starts from structlog's defaults instead."""
    yield
    structlog.reset_defaults()


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file path in tmp_path, or the DSN of an emptied PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "cloud.sqlite3")
        return
    with fresh_pg_dsn() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def sample() -> tuple[Catalog, list[Order]]:
    """The shipped Instacart sample, loaded once per test process."""
    return load_catalog(), load_orders()


@pytest.fixture
async def scripted_cloud() -> AsyncIterator[tuple[ScriptedCloud, int]]:
    """An index cloud on a loopback port whose every message the test scripts, and its port."""
    cloud = ScriptedCloud()
    server, port = await start_scripted_cloud(cloud)
    try:
        yield cloud, port
    finally:
        await server.stop(None)


def _require_browser() -> None:
    """Skip without Playwright or Chromium; fail instead under CI=true."""
    missing = []
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the machine
        missing.append("the playwright package (pip install -e '.[dev]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium, or set CARTADS_CHROMIUM)")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium driven by Playwright, without Playwright's own browser download."""
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts() -> Path:
    """The folder screenshots are saved in (artifacts/ at the repository's root), created if missing."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
