"""Real headless Chromium (the scraper's own launcher) for the browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from scraper.browser import Chromium, chromium_available

MISSING = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"


def _require_browser() -> bool:
    return os.environ.get("STYLESCOUT_REQUIRE_BROWSER") == "1"


def skip_without_chromium() -> None:
    """Skip the test without Chromium, or fail it where browser tests must run (CI)."""
    if not chromium_available():
        if _require_browser():
            pytest.fail(MISSING)
        pytest.skip(MISSING)


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium driver that records the page's console."""
    skip_without_chromium()
    with Chromium(capture_console=True) as chromium:
        chromium.driver.set_window_size(1280, 1000)
        yield chromium.driver


def page_wait(driver: WebDriver, timeout: float, poll: float = 0.2) -> WebDriverWait:
    """A wait that re-reads an element Dash replaced between finding it and reading it.

    A callback re-rendering a component swaps its DOM node; a condition that found the old
    node then reads a stale one. That is the page working, not the condition failing.
    """
    return WebDriverWait(
        driver, timeout, poll_frequency=poll, ignored_exceptions=(StaleElementReferenceException,)
    )


def console_errors(driver: WebDriver) -> list[str]:
    """Severe messages the page wrote to the browser console."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
