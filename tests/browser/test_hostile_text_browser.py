"""Scraped captions with markup are shown as text in the real browser, never run."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from dash_app import create_app
from dash_app.web.serving import serve_app
from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import HOSTILE_POSTS, create_fault_app
from scraper.scrape import scrape
from tests.browser.conftest import console_errors, page_wait
from tests.conftest import make_config


def test_hostile_captions_are_text_and_script_links_are_not_links(
    browser: WebDriver, data_dir: Path
) -> None:
    with BackgroundServer(create_fault_app(), "127.0.0.1", 0) as site:
        config = make_config(
            data_dir,
            sources={
                "hostile": {
                    "url": f"{site.url}/hostile",
                    "kind": "html",
                    "allow_private_network": True,
                    "selectors": {
                        "post": "article.post",
                        "image": "img.post-image",
                        "link": "a.post-link",
                        "caption": "p.caption",
                    },
                }
            },
        )
        assert scrape(config.scraping, "boho", len(HOSTILE_POSTS), "hostile").progress.added == 5
    app = create_app(config)
    with serve_app(app) as server:
        browser.get(f"{server.url}/")  # no index yet: Discover shows the popular items
        page_wait(browser, 30).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#items .ss-item")) == 5
        )
        text = browser.find_element(By.ID, "items").text
        assert "<script>alert(1)</script> so chic #boho" in text
        assert '<img src=x onerror="window.__pwned=2"> #street' in text
        assert browser.execute_script("return window.__pwned === undefined")
        links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a")]
        assert not [h for h in links if h and not h.startswith(("http://", "https://"))]
        assert len(browser.find_elements(By.CSS_SELECTOR, "#items img")) == 5  # no extra img
        assert console_errors(browser) == []
