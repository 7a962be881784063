"""Answers a hostile site sends to make a scrape stop or burn CPU: a `Content-Encoding` the body
does not have (or eight of them, chained) on an image, an API page or robots.txt, and an API page
of a million junk items. Each is one failure counted by reason; the scrape goes on."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo_feed.server import BackgroundServer
from sandbox.fault_server import BadEncoding, create_fault_app, source_entry
from sandbox.replicas import ReplicaOptions, create_mastodon_app, serving
from scraper.scrape import ScrapeProgress, scrape, scrape_sources
from store import Store
from tests.conftest import make_config

FAST = {"retries": 1, "backoff_s": 0.01, "read_timeout_s": 5, "connect_timeout_s": 2}
ENCODINGS: list[BadEncoding] = ["not_gzip", "chained"]
MASTODON_IMAGE = "field media_attachments[type=image].url|remote_url"


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLESCOUT_MASTODON_TOKEN", raising=False)


def fault_config(data_dir: Path, url: str) -> Any:
    """An html source over the fault site's /encodings page, robots.txt honoured."""
    return make_config(
        data_dir,
        scraper={**FAST, "workers": 2},
        sources={"faulty": source_entry(f"{url}/encodings")},
    )


def mastodon_config(data_dir: Path, url: str, **api: Any) -> Any:
    source = {
        "base_url": url,
        "allow_private_network": True,
        "api": {"request_spacing_s": 0, **api},
    }
    return make_config(data_dir, scraper=FAST, sources={"mastodon": source})


def stored(data_dir: Path) -> int:
    with Store(data_dir) as store:
        return store.stats().images


def test_badly_encoded_images_are_counted_and_the_others_stored(data_dir: Path) -> None:
    """/img/badgzip.jpg says gzip and is not; /img/gzip8.jpg is gzip eight times over."""
    with BackgroundServer(create_fault_app(), "127.0.0.1", 0) as site:
        config = fault_config(data_dir, site.url)
        [outcome] = scrape_sources(config.scraping, "fault", 10, ["faulty"])
        assert outcome.error is None, repr(outcome.error)
        assert outcome.result is not None
        progress = outcome.result.progress
        assert progress.status == "completed"
        assert dict(progress.failed_by_reason) == {"bad_encoding": 2}
        assert progress.added == 3
        again = scrape(config.scraping, "fault", 10, "faulty")  # a re-run passes them again
    assert dict(again.progress.failed_by_reason) == {"bad_encoding": 2}
    assert again.progress.skipped == 3 and stored(data_dir) == 3
    with Store(data_dir) as store:
        runs = store.runs.recent()
    assert all(r["failed_by_reason"] == {"bad_encoding": 2} for r in runs)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_badly_encoded_robots_txt_is_unreadable_and_allows_all(
    encoding: BadEncoding, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As for any unreadable robots.txt (not a 401/403): logged, every path allowed."""
    caplog.set_level(logging.INFO, logger="scraper.downloader")
    app = create_fault_app(robots_encoding=encoding)
    with BackgroundServer(app, "127.0.0.1", 0) as site:
        config = fault_config(data_dir, site.url)
        [outcome] = scrape_sources(config.scraping, "fault", 10, ["faulty"])
    assert outcome.error is None, repr(outcome.error)
    assert outcome.result is not None
    assert dict(outcome.result.progress.failed_by_reason) == {"bad_encoding": 2}  # the images
    assert outcome.result.progress.added == 3 and stored(data_dir) == 3
    assert "unreadable (bad_encoding" in caplog.text and "allowing all" in caplog.text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_badly_encoded_api_page_is_one_page_failure(
    encoding: BadEncoding, data_dir: Path
) -> None:
    """Page 1 is stored; page 2's hostile encoding is counted like a page that is not JSON."""
    app = create_mastodon_app(ReplicaOptions(posts=45, bad_body=encoding, bad_body_after=1))
    with serving(app) as url:
        config = mastodon_config(data_dir, url)
        [outcome] = scrape_sources(config.scraping, "boho", 500, ["mastodon"])
    assert outcome.error is None, repr(outcome.error)
    assert outcome.result is not None
    progress = outcome.result.progress
    posts = app.config["catalogue"]["boho"]
    page_one = [p for p in posts if p.kind != "none"][:40]  # only_media=true, limit=40
    assert progress.status == "completed"
    assert dict(progress.failed_by_reason) == {"bad_encoding": 1}
    assert progress.added == sum(len(p.images) for p in page_one) > 0
    assert progress.added < sum(len(p.images) for p in posts)  # page 2's were not read


@pytest.mark.parametrize(
    ("junk", "count", "cap", "failed"),
    [
        ("{}", 100_000, 50, {"too_many_items": 1, MASTODON_IMAGE: 1}),
        ("0", 100_000, 50, {"too_many_items": 1, "bad_item": 1}),
        ("{}", 40, None, {MASTODON_IMAGE: 1}),  # under the default cap
        ("[]", 40, None, {"bad_item": 1}),
    ],
)
def test_a_page_of_junk_items_is_read_up_to_the_cap_and_counted_once(
    junk: str,
    count: int,
    cap: int | None,
    failed: dict[str, int],
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The review's page of 1.6 million `{}` cost 47 s of CPU and counted each one; here 100,000
    with the cap at 50: one page failure per reason, the skipped items said in the log."""
    caplog.set_level(logging.INFO, logger="scraper.sources")
    options = ReplicaOptions(posts=5, bad_body="junk", junk_items=count, junk_item=junk)
    app = create_mastodon_app(options)
    updates: list[int] = []

    def progress(p: ScrapeProgress) -> None:
        updates.append(p.failed)

    with serving(app) as url:
        limit = {} if cap is None else {"max_items_per_page": cap}
        config = mastodon_config(data_dir, url, **limit)
        started = time.thread_time()  # the walk runs in this thread; the server in others
        result = scrape(config.scraping, "boho", 5, "mastodon", progress=progress)
        cpu = time.thread_time() - started
    assert dict(result.progress.failed_by_reason) == failed
    assert result.progress.status == "completed" and result.progress.added == 0
    assert len(updates) < 10  # not one progress update per item
    assert cpu < 2.0, f"{cpu:.1f} s of CPU for one page"
    assert f"{count} items" in caplog.text
