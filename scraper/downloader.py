"""The downloader every source shares: retries, per-host spacing, robots.txt, caps, safe redirects.

Failures are `DownloadFailed` with a short `reason` (timeout, http_404, too_large, ...) that scrape
runs count by. What may be reached at all is `scraper.network_policy.NetworkPolicy`, asked before
every request and every redirect hop, robots.txt included.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.robotparser
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError
from urllib3.util.retry import Retry

from scraper.network_policy import NetworkPolicy, PolicyRefused
from store.config import ScraperConfig
from store.errors import ScrapeError

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)
_CHUNK = 64 * 1024
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: crawlers parse at least 500 KiB, may stop there


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
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        """`allowed_hosts` lists `host:port` pairs the source may reach although they are not
        public (a replica on loopback in tests); `allow_private_network` allows every address."""
        self.config = config
        self.robots = robots
        self.allow_private_network = allow_private_network
        self.policy = NetworkPolicy(allow_private_network, allowed_hosts)
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
        """Refuse anything but http(s) to a host we may reach, and what robots.txt disallows."""
        self._check_network(url)
        if self.robots and not self._robots_allow(url):
            raise DownloadFailed("robots", url, "disallowed by the site's robots.txt")

    def _check_network(self, url: str) -> None:
        try:
            self.policy.check_url(url)
        except PolicyRefused as exc:
            raise DownloadFailed(exc.reason, url[:200], exc.detail) from None

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
        """The origin's rules, fetched like any page (every redirect hop checked, capped) but
        without a robots check of its own. 401/403 disallow all; any other failure allows all."""
        url = f"{origin}/robots.txt"
        parser = urllib.robotparser.RobotFileParser(url)
        try:
            response = self._get(url, robots=False)
            cap = min(ROBOTS_MAX_BYTES, self.config.max_bytes)
            body = self._read(response, url, cap, truncate=True)
        except DownloadFailed as exc:
            if exc.reason in ("http_401", "http_403"):
                parser.disallow_all = True
            elif exc.reason.startswith("http_"):
                parser.allow_all = True
            else:
                log.info("robots.txt of %s unreadable (%s): allowing all", origin, exc)
                parser.allow_all = True
            return parser
        parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser

    # -- fetching -----------------------------------------------------------------------

    def _get(self, url: str, *, robots: bool = True) -> requests.Response:
        """GET with retries, following redirects one hop at a time, each hop checked (against
        robots.txt too unless `robots` is False: robots.txt itself is fetched so)."""
        for _ in range(self.config.max_redirects + 1):
            if robots:
                self.check_url(url)
            else:
                self._check_network(url)
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
        return self._read(response, url, self.config.max_bytes).decode(
            response.encoding or "utf-8", errors="replace"
        )

    def fetch_image(self, url: str) -> bytes:
        """An image body: refuses HTML and oversized bodies without reading them whole."""
        response = self._get(url)
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in ("text/html", "application/xhtml+xml", "text/plain"):
            response.close()
            raise DownloadFailed("not_image", url, f"served as {content_type}")
        return self._read(response, url, self.config.max_bytes)

    def _read(
        self, response: requests.Response, url: str, cap: int, *, truncate: bool = False
    ) -> bytes:
        """The body, at most `cap` bytes while streaming: beyond it `too_large`, or with
        `truncate` the whole lines within the cap (the rest is never downloaded)."""
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > cap:
            response.close()
            raise DownloadFailed("too_large", url, f"{int(declared)} bytes declared")
        body = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > cap and truncate:
                    log.info("%s is larger than %d bytes: reading only the start", url, cap)
                    return bytes(body[: body.rfind(b"\n", 0, cap) + 1])
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
