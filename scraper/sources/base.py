"""What every source kind shares: the source protocol, its entry with URL templates filled in
(`SourceSpec`), its name and mode, a stop signal, failure reporting, and one
post per address however often a feed repeats it."""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from scraper.downloader import Downloader
from scraper.posts import Post
from scraper.sources.credentials import refuse_control_characters
from stylescout.errors import ConfigError
from stylescout.licences import allows_reuse
from stylescout.settings import SourceConfig

log = logging.getLogger(__name__)


class Source(Protocol):
    """Anything that finds posts for a tag."""

    name: str
    mode: str
    report_failure: Callable[[str], None]
    report_skip: Callable[[str, str | None], None]

    def search(self, tag: str, limit: int | None = None) -> Iterator[Post]: ...


@dataclass(frozen=True)
class SourceSpec:
    """A source entry with its URL templates filled in for this machine."""

    name: str
    config: SourceConfig

    def url(self, template: str, tag: str, page: int = 1, base_url: str | None = None) -> str:
        """A URL template filled in: the tag quoted for a path."""
        return self._format(template, quote(tag), page, base_url)

    def text(self, template: str, tag: str) -> str:
        """A query parameter template filled in (requests encodes it)."""
        return self._format(template, tag, 1, None)

    def _format(self, template: str, tag: str, page: int, base_url: str | None) -> str:
        base = (base_url if base_url is not None else self.config.base_url or "").rstrip("/")
        try:
            return template.format(tag=tag, page=page, base_url=base)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ConfigError(
                f"sources.{self.name}: template {template!r} is not valid ({exc}); "
                "it may use {tag}, {page} and {base_url}"
            ) from None

    def cookies(self) -> dict[str, str]:
        """The person's session cookie for this source, from the environment or a file.

        The value is never logged or stored: only its name and where it came from are said. One
        with a control character is refused here, before http.client refuses it quoting it.
        """
        cfg = self.config
        if not cfg.cookie_name:
            return {}
        value = os.environ.get(cfg.cookie_env, "").strip() if cfg.cookie_env else ""
        origin = f"${cfg.cookie_env}"
        if not value and cfg.cookie_file:
            try:
                value = cfg.cookie_file.expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"sources.{self.name}.cookie_file: {exc.strerror}") from None
            except ValueError:
                raise ConfigError(f"sources.{self.name}.cookie_file: not UTF-8 text") from None
            origin = str(cfg.cookie_file)
        refuse_control_characters(value, self.name, f"{cfg.cookie_name} cookie", origin)
        if not value:
            where = f"set {cfg.cookie_env}" if cfg.cookie_env else "set a cookie_env"
            raise ConfigError(
                f"source {self.name!r} needs your own session cookie: {where} or "
                f"sources.{self.name}.cookie_file (see docs/how-to/sources.md: limits and risks)"
            )
        log.info("using the %s cookie from %s (value hidden)", cfg.cookie_name, origin)
        return {cfg.cookie_name: value}


class SourceBase:
    """A source of posts for a tag. Subclasses implement `search(tag, limit)`.

    `report_failure(reason)` is set by the scrape so that what a source could not use (an item
    without the configured field, a page that was not JSON) is counted with the download failures.
    `report_skip(reason, post_url)` hears of each post passed over on purpose (a video, a text
    post, a boost), so that the scrape's summary and `probe` say what was left out and why.
    """

    mode = "html"

    def __init__(
        self, spec: SourceSpec, downloader: Downloader, cancel: threading.Event | None = None
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.downloader = downloader
        self.cancel = cancel or threading.Event()
        self.report_failure: Callable[[str], None] = lambda reason: None
        self.report_skip: Callable[[str, str | None], None] = lambda reason, where: None
        self.skipped: Counter[str] = Counter()
        self._seen: set[str] = set()

    def skip(self, reason: str, where: str | None = None) -> None:
        """Count a post passed over on purpose, by `reason` ("video", "text only", ...)."""
        self.skipped[reason] += 1
        self.report_skip(reason, where)

    _said_no_licence = False  # reuse_only: "posts without a licence are skipped", said once

    def reusable(self, post: Post) -> bool:
        """Whether `post` is kept under the source's `reuse_only` (always, without it): its
        licence must allow reuse (`stylescout.licences.allows_reuse`). A post that fails is
        skipped with the reason "licence"; one without any licence is warned about once, since
        a source that gives none then keeps nothing."""
        if not self.spec.config.reuse_only or allows_reuse(post.licence):
            return True
        if post.licence is None and not self._said_no_licence:
            self._said_no_licence = True
            log.warning(
                "%s: a post without a licence is skipped (sources.%s.reuse_only): a source that"
                " gives no licence keeps nothing",
                self.name,
                self.name,
            )
        self.skip("licence", post.post_url)
        return False

    def fresh(self, post: Post) -> bool:
        """Whether `post` was not given before in this search (feeds repeat posts across pages
        and, on federated sites, across instances)."""
        key = post.post_url or post.image_url
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
