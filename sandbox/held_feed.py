"""A demo feed that hands out its tag pages only as the test lets it, so a test that stops a
scrape mid-way knows the scrape is still running when it stops it, on a fast machine or a busy
one, without a sleep."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

HOLD_LIMIT_S = 120  # a held page is served anyway after this, so no test hangs on a lost release


class HeldFeed:
    """WSGI middleware around the feed: `/tag/<tag>?page=N` waits until N <= `pages`.

    `let_through(n)` releases n more pages, `open()` releases them all. Images, post pages and
    page 1..`pages` are served as usual. `asked` is set once a held page has been asked for."""

    def __init__(self, app: Callable, pages: int = 1) -> None:
        self.app = app
        self.pages = pages
        self.asked = threading.Event()
        self._changed = threading.Condition()

    def let_through(self, n: int = 1) -> None:
        with self._changed:
            self.pages += n
            self._changed.notify_all()

    def open(self) -> None:
        self.let_through(10**9)

    def _page(self, environ: dict) -> int:
        if not environ.get("PATH_INFO", "").startswith("/tag/"):
            return 0
        try:
            return int(parse_qs(environ.get("QUERY_STRING", "")).get("page", ["0"])[0])
        except ValueError:
            return 0

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        page = self._page(environ)
        with self._changed:
            if page > self.pages:
                self.asked.set()
                self._changed.wait_for(lambda: page <= self.pages, timeout=HOLD_LIMIT_S)
        return self.app(environ, start_response)
