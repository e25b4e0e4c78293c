"""The browser tests share one real `passerelle dev` (its start-up is the costly part).

Package scope: it stops after the last test of tests/e2e, before the heavier suites run.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import WAIT_MS, DevStack, browser, chromium_path, passerelle_dev


@pytest.fixture(scope="package")
def stack() -> Iterator[DevStack]:
    """A real `passerelle dev`, SMTP sink on (checked for a browser first: no browser, no stack)."""
    chromium_path()
    with passerelle_dev() as running:
        yield running


@pytest.fixture
def page(stack: DevStack) -> Iterator[Page]:
    """A fresh page in headless Chromium."""
    with browser() as launched:
        context = launched.new_context(viewport={"width": 1400, "height": 1100})
        context.set_default_timeout(WAIT_MS)
        yield context.new_page()
        context.close()
