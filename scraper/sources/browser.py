"""`browser` sources: a real headless Chromium scrolls an infinite feed; BeautifulSoup parses it.

The browser runs under the downloader's network policy: every request it makes (redirects,
images, scripts' requests) goes through a filtering proxy unless the source allows private
networks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from scraper.browser import Chromium
from scraper.downloader import DownloadFailed
from scraper.parsing import parse_posts
from scraper.posts import Post
from scraper.sources.base import SourceBase
from stylescout.errors import ScrapeError

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class BrowserSource(SourceBase):
    """Opens the tag page, scrolls until enough posts or K scrolls bring nothing new."""

    mode = "browser"

    def search(self, tag: str, limit: int | None = None) -> Iterator[Post]:
        from selenium.common.exceptions import TimeoutException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        cfg = self.spec.config
        url = self.spec.url(cfg.url, tag)
        try:
            self.downloader.check_url(url)  # scheme, address, robots.txt; then the proxy's
        except DownloadFailed as exc:
            raise ScrapeError(f"cannot open the #{tag} page: {exc}") from None
        cookies = self.downloader.session.cookies.get_dict()
        count_js = "return document.querySelectorAll(arguments[0]).length"
        with Chromium(policy=self.downloader.policy) as browser:
            driver = browser.driver
            try:
                driver.get(url)
                if cookies:  # a cookie can only be set on the site's own origin
                    for name, value in cookies.items():
                        driver.add_cookie({"name": name, "value": value, "path": "/"})
                    driver.get(url)
            except WebDriverException as exc:
                raise ScrapeError(f"cannot open {url}: {exc.msg}") from None
            seen: set[str] = set()
            given = 0
            quiet_scrolls = 0
            while quiet_scrolls < cfg.max_scrolls_without_new:
                with contextlib.suppress(TimeoutException):  # an empty feed parses as empty
                    WebDriverWait(driver, cfg.scroll_wait_s, poll_frequency=0.1).until(
                        lambda d: d.execute_script(count_js, cfg.selectors.post) > 0
                    )
                posts = parse_posts(
                    driver.page_source, driver.current_url, cfg.selectors, self.name
                )
                for post in posts:
                    key = post.post_url or post.image_url
                    if key not in seen:
                        seen.add(key)
                        if not self.reusable(post):
                            continue
                        given += 1
                        yield post
                        if limit is not None and given >= limit:
                            return
                before = driver.execute_script(count_js, cfg.selectors.post)
                driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
                try:
                    WebDriverWait(driver, cfg.scroll_wait_s, poll_frequency=0.1).until(
                        lambda d, n=before: d.execute_script(count_js, cfg.selectors.post) > n
                    )
                    quiet_scrolls = 0
                except TimeoutException:
                    quiet_scrolls += 1
            log.info("#%s: %d posts after scrolling to the end", tag, len(seen))
