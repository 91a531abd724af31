"""Browser journeys: Playwright drives Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

from ..live_server import LOCK, wait_until_idle

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
# itself (setup and assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "artifacts" / "e2e"
# `DOCS_SCREENSHOTS=1 make test PYTEST_ARGS=tests/e2e` refreshes the README's pictures: the shots
# the journeys name with docs="..." are also written, at the window's size, to docs/screenshots/.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots" if os.environ.get("DOCS_SCREENSHOTS") else None


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs it (scripts/install-system-deps.sh)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """A journey's fixtures (users, letters, a demo, the database flush of the one before)
    write to the database while no request is being served: they share its connection (see
    tests/live_server.py). None of them asks the live server for a page while it sets up."""
    with LOCK:
        yield


@pytest.fixture(autouse=True)
def _outside_any_transaction(request):
    """A journey's own database work (fixtures, generate_letter) must commit as it goes, so that
    its on-commit work (the outbox's dispatch, a batch's check) runs before the browser looks.
    Left inside a transaction by an earlier test, everything would wait silently: say so."""
    if "transactional_db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            assert not connection.in_atomic_block, (
                f"The '{connection.alias}' connection is still inside a transaction an earlier test opened; "
                "on-commit work (emails, task hand-offs) would not run")
    yield


@pytest.fixture
def open_session(browser, live_server):
    """Log a user in through the admin login form; returns a Playwright page."""
    contexts = []

    def login(username, password):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        return page

    yield login
    for context in contexts:
        context.close()
    # What the closed pages had asked for is served before the database is emptied for the
    # next journey.
    wait_until_idle()


@pytest.fixture
def screenshot(request):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page, name, docs=None):
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{next(counter):02d}-{name}.png"), full_page=True)
        if docs and DOCS_SCREENSHOTS:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS_SCREENSHOTS / f"{docs}.png"))

    return take
