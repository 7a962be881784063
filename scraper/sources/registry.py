"""Turn a source's config entry into a working source (URL templates, cookies, fallback)."""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from scraper.browser import chromium_available
from scraper.downloader import Downloader
from scraper.posts import Post
from stylescout.errors import ConfigError
from stylescout.settings import Config, SourceConfig

log = logging.getLogger(__name__)


class Source(Protocol):
    """Anything that finds posts for a tag."""

    name: str
    mode: str
    report_failure: Callable[[str], None]

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

        The value is never logged or stored: only its name and where it came from are said.
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
            origin = str(cfg.cookie_file)
        if not value:
            where = f"set {cfg.cookie_env}" if cfg.cookie_env else "set a cookie_env"
            raise ConfigError(
                f"source {self.name!r} needs your own session cookie: {where} or "
                f"sources.{self.name}.cookie_file (see README: limits and risks)"
            )
        log.info("using the %s cookie from %s (value hidden)", cfg.cookie_name, origin)
        return {cfg.cookie_name: value}


def build_source(
    name: str, config: Config, downloader: Downloader, cancel: threading.Event | None = None
) -> Source:
    """The source called `name`: browser or html mode as configured and possible, or an API
    source (with its site module when the entry names one). `cancel` ends rate-limit waits."""
    from scraper.sources.html_pages import HtmlSource
    from scraper.sources.infinite_scroll import BrowserSource

    cfg = config.source(name)
    if not cfg.enabled:
        raise ConfigError(
            f"source {name!r} is switched off: set sources.{name}.enabled: true in the config "
            "(read the README's notes on limits first)"
        )
    spec = SourceSpec(name, cfg)
    if cfg.kind == "api":
        return _api_source(spec, downloader, cancel)
    downloader.session.cookies.update(spec.cookies())  # the person's own session, if any
    if cfg.kind == "browser":
        if chromium_available() or not cfg.html_fallback:
            return BrowserSource(spec, downloader)
        if not cfg.page_url:
            raise ConfigError(f"sources.{name}: html_fallback needs a page_url template")
        log.warning("Chromium not found: source %s runs in html mode (page by page)", name)
        return HtmlSource(spec, downloader, mode="html (Chromium not found)")
    return HtmlSource(spec, downloader)


def _api_source(spec: SourceSpec, downloader: Downloader, cancel: threading.Event | None) -> Source:
    """The generic API source, or the class of the entry's site module (scraper/sources/NAME.py,
    which names it `SOURCE`)."""
    from scraper.sources.json_api import ApiSource

    if spec.config.module is None:
        return ApiSource(spec, downloader, cancel)
    module = importlib.import_module(f"scraper.sources.{spec.config.module}")
    source_class: type[ApiSource] = module.SOURCE
    return source_class(spec, downloader, cancel)
