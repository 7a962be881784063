"""Scraping the demo feed in html mode: tags, captions, times, reposts, resume, cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from scraper.scrape import ScrapeProgress, scrape
from store import Store
from store.check import check_store
from stylescout.errors import InvalidTagError, ScrapeError, UsageError
from stylescout.settings import Config
from tests.conftest import make_config


@pytest.fixture(scope="module")
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


def demo_config(data_dir: Path, feed: BackgroundServer, **extra: object) -> Config:
    return make_config(data_dir, demo_feed={"port": feed.port}, **extra)


def test_html_mode_stores_posts_with_their_details_and_a_rerun_adds_nothing(
    feed: BackgroundServer, data_dir: Path
) -> None:
    config = demo_config(data_dir, feed)
    first = scrape(config.scraping, "#Minimal", 30, "demo-html")
    assert first.progress.mode == "html"
    assert (first.progress.added, first.progress.failed, first.progress.status) == (
        30,
        0,
        "completed",
    )
    with Store(data_dir) as store:
        assert store.stats().images == 30
        rows = store.db.rows(
            "SELECT id, post_url, caption, posted_at, likes, source, width FROM images"
        )
        for image_id, post_url, caption, posted_at, likes, source, width in rows:
            assert post_url.startswith(f"{feed.url}/p/p")
            assert "#minimal" in caption and posted_at.endswith("Z") and likes >= 0
            assert source == "demo-html" and width >= 256  # the full image, not the thumbnail
            assert "minimal" in store.images.tags_of(image_id)
        assert check_store(store).clean

    again = scrape(config.scraping, "minimal", 30, "demo-html")
    assert (again.progress.added, again.progress.skipped) == (0, 30)
    more = scrape(config.scraping, "minimal", 45, "demo-html")
    assert more.progress.added + more.progress.duplicates >= 15 and more.progress.added <= 15


def test_reposts_are_counted_as_duplicates_and_tags_merge(
    feed: BackgroundServer, data_dir: Path
) -> None:
    config = demo_config(data_dir, feed)
    result = scrape(config.scraping, "romantic", 200, "demo-html")
    progress = result.progress
    assert progress.duplicates >= 8  # the feed reposts 8% of its images
    assert progress.added + progress.duplicates == 200
    with Store(data_dir) as store:
        assert store.stats().images == progress.added


def test_cancel_records_an_interrupted_run_that_resumes(
    feed: BackgroundServer, data_dir: Path
) -> None:
    config = demo_config(data_dir, feed)
    cancel = threading.Event()

    def stop_early(p: ScrapeProgress) -> None:
        if p.added >= 10:
            cancel.set()

    first = scrape(config.scraping, "sporty", 40, "demo-html", progress=stop_early, cancel=cancel)
    assert first.progress.status == "interrupted" and 10 <= first.progress.added < 40
    resumed = scrape(config.scraping, "sporty", 40, "demo-html")
    assert resumed.progress.status == "completed"
    assert resumed.progress.skipped == first.progress.added
    assert resumed.progress.added == 40 - first.progress.added
    with Store(data_dir) as store:
        assert [r["status"] for r in store.runs.recent()] == ["completed", "interrupted"]
        assert store.stats().images == 40


def test_unknown_tag_and_bad_input_fail_before_any_download(
    feed: BackgroundServer, data_dir: Path
) -> None:
    config = demo_config(data_dir, feed)
    with pytest.raises(ScrapeError, match="no posts for #nosuchtag"):
        scrape(config.scraping, "nosuchtag", 5, "demo-html")
    for tag in ("../x", "a/b", "", "x" * 500, "#"):
        with pytest.raises(InvalidTagError):
            scrape(config.scraping, tag, 5, "demo-html")
    with pytest.raises(UsageError, match="at least 1"):
        scrape(config.scraping, "boho", 0, "demo-html")
    with Store(data_dir) as store:
        assert [r["status"] for r in store.runs.recent()] == ["failed"]
