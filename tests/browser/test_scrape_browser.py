from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from scraper.scrape import scrape
from store import Store
from store.check import check_store
from tests.browser.conftest import skip_without_chromium
from tests.conftest import make_config


@pytest.fixture(scope="module")
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


@pytest.fixture(autouse=True)
def needs_chromium() -> None:
    skip_without_chromium()


def test_browser_mode_scrolls_the_feed_into_the_store(
    feed: BackgroundServer, data_dir: Path
) -> None:
    config = make_config(data_dir, demo_feed={"port": feed.port})
    result = scrape(config.scraping, "streetwear", 60, "demo")
    progress = result.progress
    assert progress.mode == "browser"
    assert progress.added == 60 and progress.status == "completed"
    assert progress.found > 24  # more than the first screen: it scrolled
    again = scrape(config.scraping, "streetwear", 60, "demo")
    assert again.progress.added == 0
    with Store(data_dir) as store:
        rows = store.db.rows("SELECT caption, post_url, posted_at FROM images")
        assert all("#streetwear" in c and p and t for c, p, t in rows)
        assert check_store(store).clean


def test_cookie_source_in_the_browser_sees_the_login_walled_grid(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox.replicas.instagram import SESSION, create_replica_app
    from tests.integration.test_sources import instagram_config

    monkeypatch.setenv("TEST_STYLESCOUT_SESSIONID", SESSION)
    with BackgroundServer(create_replica_app(), "127.0.0.1", 0) as replica:
        config = instagram_config(data_dir, replica, kind="browser")
        result = scrape(config.scraping, "ootd", 6, "instagram")
    assert result.progress.mode == "browser" and result.progress.added == 6
