"""A scrape against a site that fails in every way the downloader must survive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import EXPECTED_FAILURES, GOOD, create_fault_app, source_entry
from scraper.scrape import scrape
from store import Store
from store.check import check_store
from tests.conftest import make_config


@pytest.fixture(scope="module")
def fault_site() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_fault_app(), "127.0.0.1", 0) as server:
        yield server


@pytest.mark.slow
def test_every_fault_is_counted_and_only_good_images_are_stored(
    fault_site: BackgroundServer, data_dir: Path
) -> None:
    config = make_config(
        data_dir,
        scraper={
            "workers": 8,
            "connect_timeout_s": 2,
            "read_timeout_s": 1,
            "retries": 2,
            "backoff_s": 0.05,
            "max_retry_after_s": 5,
        },
        sources={"faulty": source_entry(f"{fault_site.url}/page")},
    )
    result = scrape(config.scraping, "fault", 100, "faulty")
    progress = result.progress
    assert progress.status == "completed"
    assert dict(progress.failed_by_reason) == EXPECTED_FAILURES
    assert progress.added == GOOD
    assert progress.duplicates == 2  # one exact, one near (resized and re-encoded)
    hits = fault_site.app.extensions["hits"]  # type: ignore[attr-defined]
    assert hits["flaky"] == 2 and hits["ratelimited"] == 2  # retried once each

    with Store(data_dir) as store:
        stats = store.stats()
        assert stats.images == GOOD
        assert check_store(store).clean
        [run] = store.runs.recent()
        assert run["failed_by_reason"] == EXPECTED_FAILURES and run["status"] == "completed"
        rows = store.db.rows("SELECT post_url, caption, posted_at FROM images")
        for post_url, caption, posted_at in rows:
            assert post_url.startswith(fault_site.url) and "#fault" in caption and posted_at
