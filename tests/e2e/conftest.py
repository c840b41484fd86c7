"""A real `streamlit run` server and headless Chromium for the end-to-end tests.

The server trains on the committed MNIST sample and saves into a temporary folder, so the tests
never touch ./trained_models. Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM): Playwright
cannot download its own browsers here. In CI (env CI set) a missing browser fails the run
rather than skipping the tests silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from browser_support import CHROMIUM, VIEWPORT, launch_chromium
from playwright.sync_api import Browser, Page, expect, sync_playwright
from streamlit_server import Server, start_server, stop_server

# Playwright's auto-waiting ceiling: the first run of a page loads TensorFlow and the model.
EXPECT_TIMEOUT_MS = 60_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("e2e")
    running = start_server(folder / "trained_models", folder / "streamlit.log")
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        message = f"Chromium not found at {CHROMIUM} (install Debian's chromium or set CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (and Streamlit session) per test."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()
