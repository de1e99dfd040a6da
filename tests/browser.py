"""Shared set-up of the real-browser tests: Debian's chromium driven by Playwright.

No browser is ever downloaded: Playwright launches /usr/bin/chromium (installed by `make test`
through .ci/system-deps). Screenshots go to a temporary folder, or to docs/screenshots/ when
ONESTOP_SCREENSHOTS=1 (how the committed screenshots are refreshed).
"""

import os
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# What the machine notes ask for in a sandboxed, network-less CI: no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test body's ORM reads are
    # plain synchronous code between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db.backends.signals import connection_created
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    # ORM reads between browser steps run in Playwright's greenlet context, where Django opens
    # a second connection that pytest-django never closes (it would block dropping the test
    # database): remember the ones this thread opens and close them at the end.
    opened, test_thread = [], threading.get_ident()

    def remember(sender, connection, **kwargs):
        if connection._thread_ident == test_thread:  # not the live server's request threads
            opened.append(connection)

    connection_created.connect(remember)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 412, "height": 915}, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
            context.close()
            browser.close()
    finally:
        connection_created.disconnect(remember)
        for connection in opened:
            connection.close()


@pytest.fixture
def screenshot(tmp_path):
    folder = SCREENSHOTS if os.environ.get("ONESTOP_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return take
