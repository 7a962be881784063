"""Sources: where posts come from. A site is a config entry; its `kind` picks the class here."""

from scraper.sources.factory import SourceSpec, build_source
from scraper.sources.html_pages import HtmlSource
from scraper.sources.infinite_scroll import BrowserSource

__all__ = ["BrowserSource", "HtmlSource", "SourceSpec", "build_source"]
