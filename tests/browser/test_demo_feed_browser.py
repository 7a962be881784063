from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from tests.browser.conftest import console_errors, page_wait


@pytest.fixture(scope="module")
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


def count_posts(driver: WebDriver) -> int:
    return driver.execute_script("return document.querySelectorAll('#feed article.post').length")


def test_tag_page_renders_posts_and_scrolls_for_more(
    browser: WebDriver, feed: BackgroundServer
) -> None:
    browser.get(f"{feed.url}/tag/boho")
    wait = page_wait(browser, 20)
    wait.until(lambda d: count_posts(d) >= 24)
    deadline = time.monotonic() + 60
    while count_posts(browser) < 96 and time.monotonic() < deadline:  # bounded scrolling
        before = count_posts(browser)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        wait.until(lambda d, n=before: count_posts(d) > n or "caught up" in d.page_source)
    assert count_posts(browser) >= 96

    browser.execute_script("window.scrollTo(0, 0)")
    wait.until(
        lambda d: d.execute_script(
            "const imgs = [...document.querySelectorAll('#feed img')].slice(0, 8);"
            "return imgs.every(i => i.complete && i.naturalWidth >= 160);"
        )
    )
    caption = browser.execute_script("return document.querySelector('#feed .caption').textContent")
    assert "#boho" in caption
    assert console_errors(browser) == []


def test_feed_ends_with_all_posts_of_a_small_tag(
    browser: WebDriver, feed: BackgroundServer
) -> None:
    browser.get(f"{feed.url}/tag/feminine")
    wait = page_wait(browser, 20)
    deadline = time.monotonic() + 30
    while "caught up" not in browser.page_source and time.monotonic() < deadline:
        before = count_posts(browser)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        wait.until(lambda d, n=before: count_posts(d) > n or "caught up" in d.page_source)
    ids = browser.execute_script(
        "return [...document.querySelectorAll('#feed article')].map(a => a.dataset.postId)"
    )
    assert "caught up" in browser.page_source
    assert len(ids) == len(set(ids)) > 0
    assert console_errors(browser) == []
