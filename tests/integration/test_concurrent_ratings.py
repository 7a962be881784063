"""20 people rating at once over HTTP while a scrape and an index build write to the same store:
every rating is stored, none is lost, and no "database is locked" reaches anyone."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from dash_app import create_app
from dash_app.web.serving import serve_app
from sandbox.dash_client import rate
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from stylescout.loader import load_config
from tests.integration.helpers import run_cli_here
from tests.integration.reliability import ForkedRun, scrape_args, write_config

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

CLIENTS, RATINGS = 20, 50


@pytest.fixture
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


@pytest.mark.slow
def test_twenty_raters_while_a_scrape_and_a_build_run(
    feed: BackgroundServer,
    tmp_path: Path,
    fork_launch: Callable[..., ForkedRun],
    store_url: str | None,
) -> None:
    config = write_config(tmp_path, feed.port, store_url)
    for tag in ("boho", "minimal"):
        done = run_cli_here("scraper", "--config", str(config), *scrape_args(tag, 30)[1:])
        assert done.returncode == 0, done.stderr
    with Store(tmp_path / "data", url=store_url) as store:
        ids = [image_id for image_id, _ in store.images.image_files()][:RATINGS]
    assert len(ids) == RATINGS

    app = create_app(load_config(config))
    with serve_app(app) as server:
        # writers in processes of their own (forked: reliability.fork_start), as in real use
        scrape = fork_launch(config, *scrape_args("streetwear", 80))
        build = fork_launch(config, "clustering", "build")

        def client(n: int) -> list[str]:
            user = f"u{n:032x}"
            with requests.Session() as session:
                return [
                    rate(session, server.url, ids[i], 1 + (i + n) % 5, user) for i in range(RATINGS)
                ]

        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            marks = [m for ms in pool.map(client, range(CLIENTS), timeout=600) for m in ms]
        seconds = time.monotonic() - started
        writers_busy = scrape.poll() is None or build.poll() is None
        for proc in (scrape, build):
            output, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, output

    assert len(marks) == CLIENTS * RATINGS
    assert Counter(m.split(" · ")[-1] for m in marks) == {"saved": CLIENTS * RATINGS}, marks[:5]
    with Store(tmp_path / "data", url=store_url) as store:
        rows = store.ratings.ratings_history()
        assert len(rows) == CLIENTS * RATINGS
        for n in range(CLIENTS):
            latest = store.ratings.latest_ratings(f"u{n:032x}")
            assert latest == {ids[i]: 1 + (i + n) % 5 for i in range(RATINGS)}
        images = store.stats().images
    assert images > 60  # the scrape went on storing meanwhile
    print(
        f"\nconcurrency ({'PostgreSQL' if store_url else 'SQLite'}): {len(rows)} ratings"
        f" from {CLIENTS} clients in {seconds:.1f} s"
        f" ({len(rows) / seconds:.0f}/s) while a scrape and a build ran"
        f" (still running at the end: {writers_busy})"
    )
