"""`api` sources: JSON over HTTP, described by a config entry (URL, items, field paths, paging,
credential). Sites that need more (several instances, a login, an odd answer format) subclass
`ApiSource` in a module of their own and override a hook or two.

Every request goes through the downloader (network policy, robots.txt, 5xx retries, byte cap).
A 429 is waited out as long as the site asks, up to the source's cap; beyond it the source stops
with a message saying when to come back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import re
import stat
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup
from requests.utils import parse_header_links

from scraper.downloader import ApiResponse, Downloader, HostSpacing
from scraper.json_paths import depth, fill, first, resolve
from scraper.parsing import parse_time
from scraper.posts import Post, credit_name, skipped_text
from scraper.rate_limits import RateLimited, wait_for
from scraper.sources.base import SourceBase
from scraper.sources.credentials import read_credential_file, refuse_control_characters
from stylescout.errors import ConfigError, ScrapeError
from stylescout.licences import normalise as normalise_licence
from stylescout.settings import ApiConfig, CredentialConfig
from stylescout.tags import normalise_tags

if TYPE_CHECKING:
    from scraper.sources.base import SourceSpec

log = logging.getLogger(__name__)

_HASHTAG = re.compile(r"#([\w-]+)")
MAX_URL = 2048
MAX_TEXT = 5000
MAX_TAGS = 50
MAX_RATE_LIMIT_WAITS = 5
MAX_EMPTY_PAGES = 3  # pages in a row that bring nothing new: the site ignores our paging


class ApiError(ScrapeError):
    """An API answered with an error; `reason` is one word for the failure counts."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def field_tags(values: list[Any]) -> list[str]:
    """Tags from what a `tags` path yields: one string is a space-separated list (Flickr's
    "boho ootd"); a list, or several strings, holds one tag each (Tumblr's ["boho", "vintage
    fashion"], Bluesky's record.tags, Mastodon's tags[].name). A tag of several words is kept
    with its words joined ("vintage fashion" -> "vintagefashion"): the form a hashtag of it
    takes on the sites that have no spaces in tags, so the two count as one tag in trends."""
    if len(values) == 1 and isinstance(values[0], str):
        return values[0].split()
    found: list[str] = []
    for value in values:
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str):
                found.append("".join(one.split()))
    return found


# what a media kind names, checked in order: "gifv" and "image/gif" are animated, not images
_KIND_REASONS = (
    ("gif", "animated"),
    ("animated", "animated"),
    ("video", "video"),
    ("audio", "audio"),
    ("external", "link"),
    ("link", "link"),
    ("record", "quote"),
)


def kind_reason(values: list[Any]) -> str:
    """The skip reason for the media kinds a post carries ("video", "animated", ...): the
    first kind that names one, "text only" when none does."""
    for value in values:
        if isinstance(value, str):
            lowered = value.lower()[:200]
            for needle, reason in _KIND_REASONS:
                if needle in lowered:
                    return reason
    return "text only"


@dataclass(frozen=True)
class Endpoint:
    """One place to ask: a site, or one instance of a federated one, with the credential that
    place issued when it has its own (sent there and nowhere else)."""

    label: str
    base_url: str
    credential: Credential | None = None


@dataclass
class Request:
    url: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """A decoded answer with the request that got it."""

    data: Any
    response: ApiResponse
    request: Request


@dataclass(frozen=True)
class Credential:
    """A secret the person gave; `repr` never shows it."""

    value: str
    origin: str
    user: str | None = None

    def __repr__(self) -> str:
        return f"Credential(origin={self.origin!r})"


def read_credential(name: str, cfg: CredentialConfig) -> Credential | None:
    """The credential from `cfg.env`, else `cfg.file` (warned about when others may read it).

    None when neither is set and the source can go without; ConfigError when it cannot, and for
    a value with a control character or a file that holds no token (`read_credential_file`).
    """
    value = os.environ.get(cfg.env, "").strip() if cfg.env else ""
    origin = f"${cfg.env}"
    refuse_control_characters(value, name, "credential", origin)
    if not value and cfg.file:
        path = cfg.file.expanduser()
        value, mode = read_credential_file(path, f"sources.{name}.api.credential.file")
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            log.warning("%s can be read by other users: chmod 600 %s", path, path)
        origin = str(path)
    user = os.environ.get(cfg.user_env, "").strip() if cfg.user_env else None
    if user:
        refuse_control_characters(user, name, "account name", f"${cfg.user_env}")
    if value and cfg.user_env and not user:
        raise ConfigError(f"source {name!r} needs your account name too: set {cfg.user_env}")
    if not value:
        if not cfg.required:
            return None
        where = f"set {cfg.env}" if cfg.env else f"set sources.{name}.api.credential.env"
        help_text = f" ({cfg.help})" if cfg.help else ""
        raise ConfigError(f"source {name!r} needs a credential: {where}{help_text}")
    log.info("source %s: using the credential from %s (value hidden)", name, origin)
    return Credential(value, origin, user)


def html_to_text(value: str) -> str:
    """Readable text of an HTML caption: paragraphs and line breaks kept as new lines."""
    soup = BeautifulSoup(value[: MAX_TEXT * 4], "lxml")  # a caption, not a page
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all("p"):
        block.append("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def as_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 string or a Unix time (number or digits) as an aware datetime, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _digits(value):
        value = int(value.strip())
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(value) if isinstance(value, str) and len(value) < 64 else None


def as_count(value: Any) -> int | None:
    """A non-negative count from a number or a string of digits, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _digits(value):
        value = int(value.strip())
    if isinstance(value, int) and 0 <= value < 10**12:
        return value
    return None


def _digits(value: str) -> bool:
    """ASCII digits only, and few of them ('²' and 5,000 nines are not counts)."""
    text = value.strip()
    return text.isascii() and text.isdigit() and len(text) < 20


def web_url(value: Any, base: str) -> str | None:
    """An absolute http(s) URL from a field, or None."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_URL:
        return None
    try:
        url = urljoin(base, value.strip())
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. 'http://[x/y.jpg'
        return None
    return url if ok else None


def one_line(text: str, limit: int = 200) -> str:
    """A site's words fit for a one-line message: whitespace and control characters folded."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]


class ApiSource(SourceBase):
    """A JSON API walked page by page, as its config entry says. Hooks for site modules:
    `endpoints`, `auth`, `decode`, `check`, `refusal`, `post_from`, `image_urls`."""

    mode = "api"

    def __init__(
        self, spec: SourceSpec, downloader: Downloader, cancel: threading.Event | None = None
    ) -> None:
        super().__init__(spec, downloader, cancel)
        assert spec.config.api is not None  # the config refuses an api source without one
        self.api: ApiConfig = spec.config.api
        cred = self.api.credential
        self.credential = read_credential(self.name, cred) if cred else None
        self.pacing = HostSpacing(self.api.request_spacing_s)
        self._page_failures: Counter[str] | None = None  # while a page's items are read
        self._warned: set[tuple[str, str]] = set()
        self._image_path_seen = False
        self._image_field_missing = False  # this page has no item with an image field

    # -- hooks -----------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        """Where to ask; one site by default."""
        base = self.spec.config.base_url or ""
        return [Endpoint(urlsplit(base).netloc or self.name, base.rstrip("/"))]

    def first_request(self, endpoint: Endpoint, tag: str) -> Request:
        url = self.spec.url(self.spec.config.url, tag, base_url=endpoint.base_url)
        params = {k: self.spec.text(v, tag) for k, v in self.api.params.items()}
        return Request(url, params)

    def auth(self, endpoint: Endpoint) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that carry the credential: the endpoint's own (a
        bearer token) where it has one, else the source's."""
        if endpoint.credential is not None:
            return {"Authorization": f"Bearer {endpoint.credential.value}"}, {}
        cred, cfg = self.credential, self.api.credential
        if cred is None or cfg is None:
            return {}, {}
        if cfg.send == "bearer":
            return {"Authorization": f"Bearer {cred.value}"}, {}
        if cfg.send == "param" and cfg.param:
            return {}, {cfg.param: cred.value}
        return {}, {}

    def decode(self, body: bytes) -> Any:
        """The answer's JSON; ApiError when it is not JSON or nests deeper than allowed."""
        try:
            data = json.loads(body)
        except RecursionError:
            raise ApiError("the answer nests too deeply to read", "too_deep") from None
        except (ValueError, UnicodeDecodeError):
            raise ApiError("the answer is not JSON", "not_json") from None
        if depth(data, self.api.max_json_depth) > self.api.max_json_depth:
            raise ApiError(
                f"the answer nests deeper than {self.api.max_json_depth} levels", "too_deep"
            )
        return data

    def check(self, page: Page) -> None:
        """Raise ApiError for an answer that is an error although its status is 200."""

    def refusal(self, response: ApiResponse, data: Any, endpoint: Endpoint) -> ApiError:
        """The error for a 4xx/5xx answer; site modules say what the person should do."""
        status = response.status
        detail = _error_text(data)
        cfg = self.api.credential
        if status in (401, 403) and cfg is not None and cfg.env:
            if self.credential is None:
                hint = f"set {cfg.env}" + (f" ({cfg.help})" if cfg.help else "")
                return ApiError(f"{endpoint.label} needs a credential: {hint}", f"http_{status}")
            return ApiError(
                f"{endpoint.label} refused the credential from {self.credential.origin}"
                f"{detail}: check {cfg.env}",
                f"http_{status}",
            )
        return ApiError(f"{endpoint.label} answered HTTP {status}{detail}", f"http_{status}")

    def image_urls(self, item: dict[str, Any], base: str) -> list[str]:
        """The item's image addresses: the first image path that gives any, capped per post."""
        for path in self.api.fields.image:
            urls = [u for u in (web_url(v, base) for v in resolve(item, path).values) if u]
            if urls:
                return list(dict.fromkeys(urls))[: self.api.max_images_per_post]
        return []

    def skip_reason(self, item: dict[str, Any]) -> str:
        """Why an item without a photo is passed over: what the `kind` path names (a video, a
        GIF, audio, a link), "text only" when it names nothing, "no image" without the path."""
        paths = self.api.fields.kind
        if not paths:
            return "no image"
        return kind_reason([v for path in paths for v in resolve(item, path).values])

    def has_image_field(self, item: dict[str, Any]) -> bool:
        """Whether `item` has the keys an image path reads (else a path may be wrong)."""
        return any(resolve(item, p).present for p in self.api.fields.image)

    def post_url(self, item: dict[str, Any], base: str) -> str | None:
        fields = self.api.fields
        if fields.post_url_template:
            return web_url(fill(fields.post_url_template, item), base)
        return web_url(first(item, fields.post_url), base)

    def post_from(self, item: Any, page: Page) -> Post | None:
        """A post from one item, or None for an item to skip (no image, a boost, a licence that
        does not allow reuse where the source keeps only those)."""
        if not isinstance(item, dict):
            self._fail("bad_item")
            return None
        base = page.response.url
        for path in self.api.skip_if:
            if resolve(item, path).values:
                self.skip(path, self._where(item, base))
                return None
        images = self.image_urls(item, base)
        if not images:
            if not self._image_field_missing:  # else the page is counted as one failure
                self.skip(self.skip_reason(item), self._where(item, base))
            return None
        fields = self.api.fields
        text = first(item, fields.text)
        caption = None
        if isinstance(text, str) and text.strip():
            caption = (html_to_text(text) if fields.text_is_html else text.strip())[:MAX_TEXT]
        tags = _HASHTAG.findall(caption or "") + field_tags(
            resolve(item, fields.tags).values if fields.tags else []
        )
        author_link = (
            fill(fields.author_url_template, item)
            if fields.author_url_template
            else first(item, fields.author_url)
        )
        post = Post(
            image_url=images[0],
            more_images=tuple(images[1:]),
            post_url=self.post_url(item, base),
            caption=caption,
            tags=tuple(normalise_tags(tags[: MAX_TAGS * 2])[:MAX_TAGS]),
            posted_at=as_time(first(item, fields.time)),
            likes=as_count(first(item, fields.likes)),
            source=self.name,
            author=credit_name(first(item, fields.author)),
            author_url=web_url(author_link, base),
            licence=normalise_licence(first(item, fields.licence), fields.licence_codes),
        )
        return post if self.reusable(post) else None

    def next_request(self, page: Page, items: list[Any]) -> Request | None:
        """The request for the page after `page`, or None at the end."""
        paging = self.api.paging
        current = page.request
        if paging.kind == "link":
            link = _next_link(page.response.headers.get("link", ""), page.response.url)
            if link is None or urlsplit(link)[:2] != urlsplit(current.url)[:2]:
                return None  # no next page, or one on another site or scheme: not followed
            # the link carries the query; our own parameters (and the credential) go again
            return Request(link, {})
        if paging.kind == "cursor" and paging.field and paging.param:
            cursor = first(page.data, paging.field)
            if not isinstance(cursor, str | int) or not str(cursor) or len(str(cursor)) > 1000:
                return None
            if current.params.get(paging.param) == str(cursor):
                return None
            return Request(current.url, {**current.params, paging.param: str(cursor)})
        if paging.kind == "max_id" and paging.field and paging.param:
            last = next((i for i in reversed(items) if isinstance(i, dict)), None)
            value = first(last, paging.field) if last is not None else None
            if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 200:
                return None
            if current.params.get(paging.param) == str(value):
                return None
            return Request(current.url, {**current.params, paging.param: str(value)})
        if paging.kind == "page" and paging.param:
            number = int(current.params.get(paging.param, "1") or 1)
            total = as_count(first(page.data, paging.total_field)) if paging.total_field else None
            if not items or (total is not None and number >= total):
                return None
            return Request(current.url, {**current.params, paging.param: str(number + 1)})
        return None

    # -- the walk --------------------------------------------------------------------------

    def search(self, tag: str, limit: int | None = None) -> Iterator[Post]:
        """Posts of `tag`, endpoint after endpoint. An endpoint that fails is skipped with a
        warning when others remain; when every one fails, the first error is raised."""
        endpoints = self.endpoints()
        errors: list[ScrapeError] = []
        given = 0
        for endpoint in endpoints:
            try:
                # closed here when the scrape stops reading: the page's failures are counted
                with contextlib.closing(self._walk(endpoint, tag)) as walk:
                    for post in walk:
                        given += 1
                        yield post
                        if limit is not None and given >= limit:
                            return
            except ScrapeError as exc:
                if len(endpoints) == 1:
                    raise
                log.warning("%s: %s", endpoint.label, exc)
                errors.append(exc)
            if self.cancel.is_set():
                return
        if errors and len(errors) == len(endpoints):
            raise errors[0]
        if self.skipped:
            log.info("%s: skipped %s", self.name, skipped_text(self.skipped))

    def _walk(self, endpoint: Endpoint, tag: str) -> Iterator[Post]:
        request: Request | None = self.first_request(endpoint, tag)
        quiet = 0
        for number in range(1, self.spec.config.max_pages + 1):
            if request is None or self.cancel.is_set():
                return
            try:
                page = self.fetch(request, endpoint)
                items = self.items(page)
            except ScrapeError as exc:
                reason = getattr(exc, "reason", "page")
                if reason == "cancelled":
                    return
                if number == 1:
                    raise
                self._fail(reason)
                log.warning("%s: stopping at page %d: %s", endpoint.label, number, exc)
                return
            new = 0
            failures: Counter[str] = Counter()
            self._page_failures = failures
            try:
                items = self._capped(items, endpoint, number)
                self._check_fields(items, page)
                for item in items:
                    post = self.post_from(item, page)
                    if post is not None and self.fresh(post):
                        new += 1
                        yield post
            finally:  # also when the scrape has enough and stops reading mid-page
                self._page_failures = None
                self._report_page(failures, endpoint, number)
            quiet = 0 if new else quiet + 1
            if quiet >= MAX_EMPTY_PAGES:
                log.info("%s: %d pages brought nothing new: stopping", endpoint.label, quiet)
                return
            if not items and self.api.paging.kind in ("max_id", "page"):
                return
            request = self.next_request(page, items)

    def fetch(self, request: Request, endpoint: Endpoint) -> Page:
        """One page: the credential added, 429s waited out, errors explained."""
        headers, secret = self.auth(endpoint)
        params = {**request.params, **secret}
        for _ in range(MAX_RATE_LIMIT_WAITS + 1):
            self.pacing.wait(urlsplit(request.url).netloc)
            response = self.downloader.request_api(
                request.url,
                params=params,
                headers={"Accept": "application/json", **headers},
                cap=self.api.max_response_bytes,
                secret_params=secret,
            )
            if response.status == 429:
                self._wait_out(response, endpoint)
                continue
            data = self._decode_any(response)
            if data is _NOT_JSON and "login" in urlsplit(response.url).path.lower():
                # sent to a login page (Pixelfed without a token): a refusal, said as one
                raise self.refusal(dataclasses.replace(response, status=401), None, endpoint)
            if response.status >= 400:
                raise self.refusal(response, data, endpoint)
            if data is _NOT_JSON:
                data = self.decode(response.body)  # raises the reason
            page = Page(data, response, request)
            self.check(page)
            return page
        raise ApiError(
            f"{endpoint.label} is still rate limiting after {MAX_RATE_LIMIT_WAITS} waits: "
            "try again later",
            "rate_limited",
        )

    def items(self, page: Page) -> list[Any]:
        path = self.api.items
        found = resolve(page.data, path) if path else None
        items = page.data if not path else (found.values[0] if found.values else None)
        if path and found is not None and not found.present:
            raise ApiError(
                f"the answer has no {path!r} (sources.{self.name}.api.items)", f"field {path}"
            )
        if items is None:
            return []
        if not isinstance(items, list):
            raise ApiError(f"the answer's {path or 'body'!r} is not a list", "not_a_list")
        return items

    # -- helpers ---------------------------------------------------------------------------

    def _capped(self, items: list[Any], endpoint: Endpoint, number: int) -> list[Any]:
        """The first `max_items_per_page` items: a page of a million `{}` would otherwise be
        read (and each counted) one by one. The rest is one `too_many_items` failure."""
        cap = self.api.max_items_per_page
        if len(items) <= cap:
            return items
        log.warning(
            "%s: page %d has %d items: reading the first %d (sources.%s.api.max_items_per_page)",
            endpoint.label,
            number,
            len(items),
            cap,
            self.name,
        )
        self._fail("too_many_items")
        return items[:cap]

    def _report_page(self, failures: Counter[str], endpoint: Endpoint, number: int) -> None:
        """Each reason a page's items failed for is one failure, whatever the number of items:
        a page of junk is one failed page, not a count that drowns the images'."""
        for reason, items in failures.items():
            self.report_failure(reason)
            if items > 1:
                log.warning(
                    "%s: page %d: %d items skipped (%s)", endpoint.label, number, items, reason
                )

    def _wait_out(self, response: ApiResponse, endpoint: Endpoint) -> None:
        try:
            wait = wait_for(
                endpoint.label,
                response.headers,
                self.api.max_rate_limit_wait_s,
                self.api.default_rate_limit_wait_s,
            )
        except RateLimited as exc:
            raise ApiError(str(exc), "rate_limited") from None
        log.warning("%s asks to wait %.1f s (rate limit): waiting", endpoint.label, wait)
        if self.cancel.wait(wait):
            raise ApiError("cancelled while waiting for the rate limit", "cancelled")

    def _decode_any(self, response: ApiResponse) -> Any:
        try:
            return self.decode(response.body)
        except ApiError:
            return _NOT_JSON

    def _check_fields(self, items: list[Any], page: Page) -> None:
        """A configured path that no item of a page has is a wrong path: its items are counted
        as failures (image) or it is warned about once (the other fields)."""
        dicts = [i for i in items if isinstance(i, dict)]
        self._image_field_missing = False
        if not dicts:
            return
        fields = self.api.fields
        if any(self.has_image_field(i) for i in dicts):
            self._image_path_seen = True
        elif not self._image_path_seen:  # a wrong path, not a page of text posts
            self._image_field_missing = True
            self._fail(f"field {fields.image[0]}", len(dicts))
            log.warning(
                "%s: the image path %s matches nothing in %d items: check sources.%s.api.fields",
                self.name,
                " / ".join(fields.image),
                len(dicts),
                self.name,
            )
        for label in ("text", "time", "likes", "post_url"):
            path = getattr(fields, label)
            if (
                path
                and (label, path) not in self._warned
                and not any(resolve(i, path).present for i in dicts)
            ):
                self._warned.add((label, path))
                log.warning("%s: the %s path %r matches nothing", self.name, label, path)

    def _where(self, item: dict[str, Any], base: str) -> str | None:
        """The item's post address for a skip line, when it has a sound one."""
        try:
            return self.post_url(item, base)
        except (TypeError, ValueError):
            return None

    def _fail(self, reason: str, items: int = 1) -> None:
        """Count a failure; while a page's items are read, once per page and reason."""
        if self._page_failures is not None:
            self._page_failures[reason] += items
        else:
            self.report_failure(reason)


_NOT_JSON = object()


def _error_text(data: Any) -> str:
    """': <message>' from a JSON error body ({error, message} and friends), bounded."""
    if not isinstance(data, dict):
        return ""
    parts = [data.get(k) for k in ("error", "message", "error_description", "msg")]
    meta = data.get("meta")
    if isinstance(meta, dict):
        parts.append(meta.get("msg"))
    text = " - ".join(dict.fromkeys(p for p in parts if isinstance(p, str) and p))
    return f": {one_line(text)}" if text.strip() else ""


def _next_link(header: str, base: str) -> str | None:
    """The `rel="next"` target of a Link header, absolute."""
    if not header or len(header) > 8192:
        return None
    for link in parse_header_links(header):
        if "next" in str(link.get("rel", "")).split() and link.get("url"):
            return web_url(link["url"], base)
    return None
