"""Turn a source's config entry into a working source: its kind's class, or its site's."""

from __future__ import annotations

import logging
import threading

from scraper.browser import chromium_available
from scraper.downloader import Downloader
from scraper.sources import sites
from scraper.sources.base import Source, SourceSpec
from stylescout.errors import ConfigError
from stylescout.settings import ScrapeSettings

log = logging.getLogger(__name__)


def build_source(
    name: str, config: ScrapeSettings, downloader: Downloader, cancel: threading.Event | None = None
) -> Source:
    """The source called `name`: browser or html mode as configured and possible, or an API
    source (with its site module when the entry names one). `cancel` ends rate-limit waits."""
    from scraper.sources.browser import BrowserSource
    from scraper.sources.html import HtmlSource

    cfg = config.source(name)
    if not cfg.enabled:
        raise ConfigError(
            f"source {name!r} is switched off: set sources.{name}.enabled: true in the config "
            "(read its limits and terms in docs/how-to/sources.md first)"
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
    """The generic API source, or the class of the site module the entry names
    (scraper/sources/sites/NAME.py, which names it `SOURCE`)."""
    from scraper.sources.api import ApiSource

    if spec.config.module is None:
        return ApiSource(spec, downloader, cancel)
    source_class: type[ApiSource] | None = getattr(sites.site(spec.config.module), "SOURCE", None)
    if source_class is None:
        with_code = ", ".join(n for n in sites.names() if hasattr(sites.site(n), "SOURCE"))
        raise ConfigError(
            f"sources.{spec.name}.module: site {spec.config.module!r} reads with field paths"
            f" alone; sites with a source of their own: {with_code}"
        )
    return source_class(spec, downloader, cancel)
