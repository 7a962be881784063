"""The downloader every source shares: retries, per-host spacing, robots.txt, caps, safe redirects.

Failures are `DownloadFailed` with a short `reason` (timeout, http_404, too_large, ...) that scrape
runs count by.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
import urllib.robotparser
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from store.config import ScraperConfig
from store.errors import ScrapeError

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)
_CHUNK = 64 * 1024


class DownloadFailed(ScrapeError):
    """A URL could not be fetched; `reason` names why in one word."""

    def __init__(self, reason: str, url: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {url}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.url = url


class HostSpacing:
    """Keeps at least `interval` seconds between the starts of requests to one host."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, host: str) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + self.interval
        if start > now:
            time.sleep(start - now)


class Downloader:
    """HTTP(S) fetching for one source. Thread-safe; one per scrape."""

    def __init__(
        self,
        config: ScraperConfig,
        *,
        host_spacing_s: float = 0.0,
        robots: bool = True,
        allow_private_network: bool = False,
        cookies: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.robots = robots
        self.allow_private_network = allow_private_network
        self.spacing = HostSpacing(host_spacing_s)
        self.timeout = (config.connect_timeout_s, config.read_timeout_s)
        retry = Retry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            other=0,
            redirect=0,
            backoff_factor=config.backoff_s,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=True,
            retry_after_max=int(config.max_retry_after_s),
            raise_on_status=False,
            raise_on_redirect=False,
        )
        adapter = HTTPAdapter(
            max_retries=retry, pool_connections=8, pool_maxsize=max(10, config.workers * 2)
        )
        self.session = requests.Session()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = config.user_agent
        self.session.trust_env = False  # no proxies or .netrc credentials picked up silently
        for name, value in (cookies or {}).items():
            self.session.cookies.set(name, value)
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self._robots_lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    # -- checks -------------------------------------------------------------------------

    def check_url(self, url: str) -> None:
        """Refuse anything but http(s) to a host we may reach."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadFailed("bad_url", url[:200], "only http and https addresses are fetched")
        if not self.allow_private_network and not self._is_public(parts.hostname):
            raise DownloadFailed("private_address", url, "the source may not reach local networks")
        if self.robots and not self._robots_allow(url):
            raise DownloadFailed("robots", url, "disallowed by the site's robots.txt")

    @staticmethod
    def _is_public(host: str) -> bool:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return True  # unresolvable: the request itself fails with 'connection'
        return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos)

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            parser = self._robots.get(origin)
            if parser is None:
                parser = self._load_robots(origin)
                self._robots[origin] = parser
        return parser.can_fetch(self.config.user_agent, url)

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser:
        parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
        try:
            response = self.session.get(
                f"{origin}/robots.txt", timeout=self.timeout, allow_redirects=True
            )
        except requests.RequestException as exc:
            log.info("robots.txt of %s unreadable (%s): allowing all", origin, type(exc).__name__)
            parser.parse([])
            return parser
        if response.status_code in (401, 403):
            parser.disallow_all = True
        elif response.status_code >= 400:
            parser.allow_all = True
        else:
            parser.parse(response.text.splitlines())
        return parser

    # -- fetching -----------------------------------------------------------------------

    def _get(self, url: str) -> requests.Response:
        """GET with retries, following redirects one hop at a time, each hop checked."""
        for _ in range(self.config.max_redirects + 1):
            self.check_url(url)
            self.spacing.wait(urlsplit(url).netloc)
            try:
                response = self.session.get(
                    url, timeout=self.timeout, stream=True, allow_redirects=False
                )
            except requests.exceptions.Timeout as exc:
                raise DownloadFailed("timeout", url, type(exc).__name__) from None
            except requests.exceptions.RetryError as exc:
                raise DownloadFailed("connection", url, str(exc)[:120]) from None
            except requests.exceptions.ConnectionError as exc:
                reason = "timeout" if "timed out" in str(exc).lower() else "connection"
                raise DownloadFailed(reason, url, type(exc).__name__) from None
            except requests.RequestException as exc:
                raise DownloadFailed("bad_url", url, type(exc).__name__) from None
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                continue
            if response.status_code >= 400:
                response.close()
                raise DownloadFailed(f"http_{response.status_code}", url)
            return response
        raise DownloadFailed("redirect_loop", url, f"more than {self.config.max_redirects}")

    def get_page(self, url: str) -> str:
        """A page's text (capped like images)."""
        response = self._get(url)
        return self._read(response, url).decode(response.encoding or "utf-8", errors="replace")

    def fetch_image(self, url: str) -> bytes:
        """An image body: refuses HTML and oversized bodies without reading them whole."""
        response = self._get(url)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in ("text/html", "application/xhtml+xml", "text/plain"):
            response.close()
            raise DownloadFailed("not_image", url, f"served as {content_type}")
        return self._read(response, url)

    def _read(self, response: requests.Response, url: str) -> bytes:
        cap = self.config.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            response.close()
            raise DownloadFailed("too_large", url, f"{int(declared)} bytes declared")
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > cap:
                    raise DownloadFailed("too_large", url, f"more than {cap} bytes")
        except requests.exceptions.ConnectionError as exc:
            reason = "timeout" if "timed out" in str(exc).lower() else "truncated"
            raise DownloadFailed(reason, url, type(exc).__name__) from None
        except (requests.exceptions.ChunkedEncodingError, ProtocolError) as exc:
            raise DownloadFailed("truncated", url, type(exc).__name__) from None
        finally:
            response.close()
        return bytes(body)
