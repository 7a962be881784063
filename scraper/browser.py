"""Headless Chromium through Selenium and Debian's /usr/bin/chromedriver.

Given a `NetworkPolicy` that does not allow private networks, Chromium sends every request
through a `FilteringProxy` holding it to that policy (redirects, images, scripts' fetch/XHR and
loopback included); without one, or when the policy allows private networks, it connects directly.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from scraper.network_policy import FilteringProxy, NetworkPolicy
from stylescout.errors import BrowserMissingError

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


def proxy_flags(proxy_url: str) -> tuple[str, ...]:
    """Every request through `proxy_url`: Chromium bypasses a proxy for loopback unless told
    `<-loopback>`, and WebRTC may use no UDP the proxy does not carry."""
    return (
        f"--proxy-server={proxy_url}",
        "--proxy-bypass-list=<-loopback>",
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    )


class Chromium:
    """A headless browser with its own throw-away profile; use as a context manager."""

    def __init__(
        self,
        page_load_timeout_s: float = 30,
        capture_console: bool = False,
        policy: NetworkPolicy | None = None,
    ) -> None:
        """Start Chromium; `capture_console` keeps the page's console messages (for tests);
        `policy` (unless it allows private networks) filters every request the browser makes."""
        if not chromium_available():
            raise BrowserMissingError(MISSING)
        from selenium import webdriver  # imported here: only browser sources need Selenium
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service

        self.proxy: FilteringProxy | None = None
        self._profile = tempfile.mkdtemp(prefix="stylescout-chromium-")
        try:
            flags = [*FLAGS, f"--user-data-dir={self._profile}"]
            if policy is not None and not policy.allow_private_network:
                self.proxy = FilteringProxy(policy).start()
                flags += proxy_flags(self.proxy.url)
            options = webdriver.ChromeOptions()
            options.binary_location = str(CHROMIUM)
            for flag in flags:
                options.add_argument(flag)
            if capture_console:
                options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
            self.driver: WebDriver = webdriver.Chrome(
                service=Service(str(CHROMEDRIVER)), options=options
            )
        except WebDriverException as exc:
            self._cleanup()
            first = (exc.msg or str(exc)).splitlines()[0]
            raise BrowserMissingError(f"Chromium did not start: {first}") from None
        except BaseException:  # anything else (Ctrl-C included): no proxy or profile left over
            self._cleanup()
            raise
        self.driver.set_page_load_timeout(page_load_timeout_s)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self._profile, ignore_errors=True)
        if self.proxy is not None:
            self.proxy.stop()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
