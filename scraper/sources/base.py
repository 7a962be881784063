"""What every source kind shares: its name and mode, a stop signal, failure reporting, and one
post per address however often a feed repeats it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from scraper.downloader import Downloader
from scraper.posts import Post

if TYPE_CHECKING:
    from scraper.sources.factory import SourceSpec


class SourceBase:
    """A source of posts for a tag. Subclasses implement `search(tag, limit)`.

    `report_failure(reason)` is set by the scrape so that what a source could not use (an item
    without the configured field, a page that was not JSON) is counted with the download failures.
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
        self._seen: set[str] = set()

    def fresh(self, post: Post) -> bool:
        """Whether `post` was not given before in this search (feeds repeat posts across pages
        and, on federated sites, across instances)."""
        key = post.post_url or post.image_url
        if key in self._seen:
            return False
        self._seen.add(key)
        return True
