"""Headless Chromium through Selenium and Debian's /usr/bin/chromedriver."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from store.errors import BrowserMissingError

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

log = logging.getLogger(__name__)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
)
MISSING = (
    "Chromium is not installed: run `sudo apt-get install chromium chromium-driver` "
    "(or use an html source such as --source demo-html)"
)


def chromium_available() -> bool:
    """Whether Debian's Chromium and ChromeDriver are present."""
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


class Chromium:
    """A headless browser with its own throw-away profile; use as a context manager."""

    def __init__(self, page_load_timeout_s: float = 30, capture_console: bool = False) -> None:
        """Start Chromium; `capture_console` keeps the page's console messages (for tests)."""
        if not chromium_available():
            raise BrowserMissingError(MISSING)
        from selenium import webdriver  # imported here: only browser sources need Selenium
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.mkdtemp(prefix="stylescout-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={self._profile}"):
            options.add_argument(flag)
        if capture_console:
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver: WebDriver = webdriver.Chrome(
                service=Service(str(CHROMEDRIVER)), options=options
            )
        except WebDriverException as exc:
            shutil.rmtree(self._profile, ignore_errors=True)
            first = (exc.msg or str(exc)).splitlines()[0]
            raise BrowserMissingError(f"Chromium did not start: {first}") from None
        self.driver.set_page_load_timeout(page_load_timeout_s)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
