"""`html` sources: plain pages fetched with requests and parsed with BeautifulSoup."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scraper.downloader import Downloader, DownloadFailed
from scraper.parsing import next_page_link, parse_posts
from scraper.posts import Post
from scraper.sources.base import SourceBase
from stylescout.errors import ScrapeError

if TYPE_CHECKING:
    from scraper.sources.base import SourceSpec

log = logging.getLogger(__name__)


class HtmlSource(SourceBase):
    """Walks a tag's pages: the next-page link when there is one, else `page_url` with {page}."""

    def __init__(self, spec: SourceSpec, downloader: Downloader, mode: str = "html") -> None:
        super().__init__(spec, downloader)
        self.mode = mode

    def search(self, tag: str, limit: int | None = None) -> Iterator[Post]:
        cfg = self.spec.config
        template = cfg.page_url or cfg.url
        url: str | None = self.spec.url(template, tag, 1)
        seen: set[str] = set()
        given = 0
        for page in range(1, cfg.max_pages + 1):
            if url is None:
                return
            try:
                html = self.downloader.get_page(url)
            except DownloadFailed as exc:
                if page == 1:
                    raise ScrapeError(f"no posts for #{tag}: {exc}") from None
                log.info("stopping at page %d: %s", page, exc)
                return
            fresh = 0
            for post in parse_posts(html, url, cfg.selectors, self.name):
                key = post.post_url or post.image_url
                if key in seen:
                    continue
                seen.add(key)
                fresh += 1
                if not self.reusable(post):
                    continue
                given += 1
                yield post
                if limit is not None and given >= limit:
                    return
            url = next_page_link(html, url, cfg.next_selector)
            if url is None and cfg.page_url and fresh:
                url = self.spec.url(cfg.page_url, tag, page + 1)
