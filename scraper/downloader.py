"""The downloader every source shares: retries, per-host spacing, robots.txt, caps, safe redirects.

Failures are `DownloadFailed` with a short `reason` that scrape runs count by (the table in
docs/explanation/scraping.md): bad_url, private_address, no_such_host, robots, timeout,
connection, truncated, http_NNN, redirect_loop, not_image, too_large, bad_encoding (a body that
does not decode as its `Content-Encoding` says, or more than urllib3's 5 chained encodings).
What may be reached at all is `scraper.network_policy.NetworkPolicy`, asked before every request
and every redirect hop, robots.txt included, and again by every connection, which goes only to an
address that answer approved (`scraper.pinned_adapter`: a name cannot change its answer between).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from protego import Protego
from urllib3.exceptions import DecodeError, ProtocolError
from urllib3.util.retry import Retry

from scraper.network_policy import NetworkPolicy, PolicyRefused
from scraper.pinned_adapter import PinnedAdapter, RefusedAtConnect
from stylescout.errors import ScrapeError
from stylescout.settings import ScraperConfig

log = logging.getLogger(__name__)
RETRY_STATUSES = (429, 500, 502, 503, 504)
API_RETRY_STATUSES = (500, 502, 503, 504)  # a 429 from an API is waited out by the source
_CHUNK = 64 * 1024
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 2.5: crawlers parse at least 500 KiB, may stop there
# RFC 9309 2.3.1.4: robots.txt unreachable (network errors): assume complete disallow
_ROBOTS_UNREACHABLE = frozenset({"timeout", "connection", "truncated", "no_such_host"})


class RobotRules:
    """One origin's robots.txt rules: parsed by Protego, or all allowed, or none."""

    def __init__(
        self,
        parsed: Protego | None = None,
        allow: bool = True,
        refusal: tuple[str, str] | None = None,
    ) -> None:
        self._parsed = parsed
        self._allow = allow
        self.refusal = refusal  # (reason, detail) a refused URL fails with, when not "robots"

    @classmethod
    def everything(cls) -> RobotRules:
        return cls(None, allow=True)

    @classmethod
    def nothing(cls, refusal: tuple[str, str]) -> RobotRules:
        return cls(None, allow=False, refusal=refusal)

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self._parsed is None:
            return self._allow
        return bool(self._parsed.can_fetch(url, user_agent))


SECRET_PARAMS = ("api_key", "access_token", "token", "key", "password", "secret")
_SECRET_IN_URL = re.compile(rf"([?&](?:{'|'.join(SECRET_PARAMS)})=)[^&\s\"']+", re.IGNORECASE)


class _MaskSecrets(logging.Filter):
    """urllib3 logs request paths (query included) on retries: credentials are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _SECRET_IN_URL.sub(r"\1***", text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_MaskSecrets())


class DownloadFailed(ScrapeError):
    """A URL could not be fetched; `reason` names why in one word."""

    def __init__(self, reason: str, url: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {url}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.url = url
        self.detail = detail


@dataclass(frozen=True)
class ApiResponse:
    """An API answer of any status: sources read error bodies (a JSON error, an HTML 403)."""

    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes
    url: str  # the address that answered (after redirects), secret parameters masked


def mask_params(url: str, secret: Iterable[str]) -> str:
    """`url` with the values of the `secret` query parameters replaced, for logs and errors."""
    names = set(secret)
    parts = urlsplit(url)
    if not names or not parts.query:
        return url
    query = [(k, "***" if k in names else v) for k, v in parse_qsl(parts.query, True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class HostSpacing:
    """Keeps at least `interval` seconds between the starts of requests to one host.

    Waiters for one host go one at a time and the next start is counted from when the last one
    really woke, so a thread that wakes late (a busy machine) never shortens the gap after it.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def wait(self, host: str) -> float:
        """Wait for `host`'s next turn; returns the monotonic time the turn began."""
        if self.interval <= 0:
            return time.monotonic()
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            delay = self._next.get(host, 0.0) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            self._next[host] = began + self.interval
        return began


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
        self.session = self._session(RETRY_STATUSES, respect_retry_after=True)
        # API calls: 5xx retried here with short backoffs (a sleep in urllib3 cannot be
        # cancelled); a 429 is handed to the source, which waits as the site asks, cancellably
        self.api_session = self._session(API_RETRY_STATUSES, respect_retry_after=False)
        for name, value in (cookies or {}).items():
            self.session.cookies.set(name, value)
        self._robots: dict[str, RobotRules] = {}
        self._robots_lock = threading.Lock()

    def _session(self, statuses: tuple[int, ...], respect_retry_after: bool) -> requests.Session:
        config = self.config
        retry = Retry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            other=0,
            redirect=0,
            backoff_factor=config.backoff_s,
            status_forcelist=statuses,
            allowed_methods=frozenset({"GET", "HEAD"}),
            respect_retry_after_header=respect_retry_after,
            retry_after_max=int(config.max_retry_after_s),
            raise_on_status=False,
            raise_on_redirect=False,
        )
        adapter = PinnedAdapter(
            self.policy,
            max_retries=retry,
            pool_connections=8,
            pool_maxsize=max(10, config.workers * 2),
        )
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = config.user_agent
        session.trust_env = False  # no proxies or .netrc credentials picked up silently
        return session

    def close(self) -> None:
        self.session.close()
        self.api_session.close()

    # -- checks -------------------------------------------------------------------------

    def check_url(self, url: str) -> None:
        """Refuse anything but http(s) to a host we may reach, and what robots.txt disallows."""
        self._check_network(url)
        if self.robots:
            rules = self._robot_rules(url)
            if not rules.can_fetch(url, self.config.user_agent):
                # an unreachable robots.txt closes the site: say why it was unreachable
                reason, detail = rules.refusal or ("robots", "disallowed by the site's robots.txt")
                raise DownloadFailed(reason, url, detail)

    def _check_network(self, url: str) -> None:
        try:
            self.policy.check_url(url)
        except PolicyRefused as exc:
            raise DownloadFailed(exc.reason, url[:200], exc.detail) from None

    def _robot_rules(self, url: str) -> RobotRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            rules = self._robots.get(origin)
            if rules is None:
                rules = self._load_robots(origin)
                self._robots[origin] = rules
        return rules

    def _load_robots(self, origin: str) -> RobotRules:
        """The origin's rules, fetched like any page (every redirect hop checked, capped) but
        without a robots check of its own, read as RFC 9309 says (Protego: wildcards, `$`, the
        longest match wins). A server error or an unreachable server means "assume complete
        disallow" for this run (section 2.3.1.4), said in one warning; a 4xx, too many redirects
        or a redirect this scraper may not follow means "unavailable": allow all (2.3.1.3)."""
        url = f"{origin}/robots.txt"
        try:
            response = self._get(url, robots=False)
            cap = min(ROBOTS_MAX_BYTES, self.config.max_bytes)
            body = self._read(response, url, cap, truncate=True)
        except DownloadFailed as exc:
            if exc.reason.startswith("http_5") or exc.reason in _ROBOTS_UNREACHABLE:
                log.warning(
                    "robots.txt of %s could not be read (%s): nothing of the site is fetched in"
                    " this run, as RFC 9309 asks",
                    origin,
                    exc.reason,
                )
                reason = "robots" if exc.reason.startswith("http_5") else exc.reason
                return RobotRules.nothing((reason, f"robots.txt could not be read ({exc.reason})"))
            if not exc.reason.startswith("http_"):
                log.info("robots.txt of %s unreadable (%s): allowing all", origin, exc)
            return RobotRules.everything()
        return RobotRules(Protego.parse(body.decode("utf-8", errors="replace")))

    # -- fetching -----------------------------------------------------------------------

    def _get(
        self,
        url: str,
        *,
        robots: bool = True,
        session: requests.Session | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        raise_for_status: bool = True,
        secret_params: Iterable[str] = (),
    ) -> requests.Response:
        """A request with retries, following redirects one hop at a time, each hop checked
        (against robots.txt too unless `robots` is False: robots.txt itself is fetched so).
        A redirected POST becomes a GET, as browsers do; an `Authorization` header goes only to
        the scheme, host and port it was meant for. Errors name the URL with `secret_params`
        masked."""
        session = session or self.session
        headers = dict(headers or {})
        origin = urlsplit(url)[:2]
        secret = tuple(secret_params)
        for _ in range(self.config.max_redirects + 1):
            shown = mask_params(url, secret)
            try:
                if robots:
                    self.check_url(url)
                else:
                    self._check_network(url)
            except DownloadFailed as exc:
                raise DownloadFailed(exc.reason, shown[:200], exc.detail) from None
            self.spacing.wait(urlsplit(url).netloc)
            try:
                response = session.request(
                    method,
                    url,
                    headers=headers,
                    json=json_body,
                    timeout=self.timeout,
                    stream=True,
                    allow_redirects=False,
                )
            except RefusedAtConnect as exc:  # the name's answer changed since the check
                refusal = exc.refusal
                raise DownloadFailed(refusal.reason, shown[:200], refusal.detail) from None
            except requests.exceptions.Timeout as exc:
                raise DownloadFailed("timeout", shown, type(exc).__name__) from None
            except requests.exceptions.RetryError as exc:
                raise DownloadFailed("connection", shown, type(exc).__name__) from None
            except requests.exceptions.ConnectionError as exc:
                reason = "timeout" if "timed out" in str(exc).lower() else "connection"
                raise DownloadFailed(reason, shown, type(exc).__name__) from None
            except requests.RequestException as exc:
                raise DownloadFailed("bad_url", shown, type(exc).__name__) from None
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                try:
                    url = urljoin(url, location)
                except ValueError:
                    raise DownloadFailed("bad_url", shown, "a redirect to no address") from None
                method, json_body = "GET", None
                if urlsplit(url)[:2] != origin:  # the credential stays with its own site
                    headers.pop("Authorization", None)
                continue
            if raise_for_status and response.status_code >= 400:
                response.close()
                raise DownloadFailed(f"http_{response.status_code}", shown)
            return response
        raise DownloadFailed(
            "redirect_loop", mask_params(url, secret), f"more than {self.config.max_redirects}"
        )

    def request_api(
        self,
        url: str,
        *,
        method: str = "GET",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        cap: int,
        secret_params: Iterable[str] = (),
    ) -> ApiResponse:
        """An API call under the same policy as every request; any status is returned with its
        body (at most `cap` bytes) so the source can read the site's error. Errors and logs name
        the URL with `secret_params` masked."""
        if params:
            prepared = requests.PreparedRequest()
            prepared.prepare_url(url, dict(params))
            url = str(prepared.url)
        response = self._get(
            url,
            session=self.api_session,
            method=method,
            headers=headers,
            json_body=json_body,
            raise_for_status=False,
            secret_params=secret_params,
        )
        status = response.status_code
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        final = mask_params(response.url or url, secret_params)  # after redirects
        body = self._read(response, final, cap)
        return ApiResponse(status, response_headers, body, final)

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
        except (requests.exceptions.ContentDecodingError, DecodeError):
            # not what Content-Encoding says, or more links than urllib3 decodes (5); the
            # error's own text is a tuple of urllib3's and zlib's: the header says it better
            raise DownloadFailed("bad_encoding", url, _encoding(response)) from None
        finally:
            response.close()
        return bytes(body)


def _encoding(response: requests.Response) -> str:
    """What a body was said to be encoded with, bounded and on one line, for an error."""
    said = " ".join(response.headers.get("Content-Encoding", "").split())
    return f"Content-Encoding: {said[:60]}" + ("..." if len(said) > 60 else "")
