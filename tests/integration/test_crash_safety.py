"""Scrapes and index builds killed with SIGKILL at random moments, 20 times each: the store stays
clean, nothing stored is lost or duplicated, resumed runs complete, and the dashboard serves the
last complete index throughout."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clustering.index import load_index
from dash_app import create_app
from dash_app.web.serving import serve_app
from sandbox.demo_feed.server import BackgroundServer
from sandbox.demo_feed.site import create_feed_app
from store import Store
from store.check import check_store
from stylescout.loader import load_config
from tests.integration.helpers import run_cli_here
from tests.integration.reliability import ForkedRun, IndexWatcher, scrape_args, write_config

pytestmark = pytest.mark.model  # builds a Keras backbone: not in make test-fast

TRIALS = 20
EXTRACTING = 3  # of the killed builds, those killed while they extract features
TAGS = ("preppy", "sporty", "streetwear", "minimal", "romantic", "boho")


@pytest.fixture
def feed() -> Iterator[BackgroundServer]:
    with BackgroundServer(create_feed_app(), "127.0.0.1", 0) as server:
        yield server


def _kill_after(proc: ForkedRun, seconds: float) -> bool:
    """SIGKILL the process after `seconds` (unless it ended first); True when it was killed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.communicate(timeout=10)
            return False
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    return True


def _kill_once_stored(
    proc: ForkedRun, data: Path, url: str | None, images: int, then_s: float
) -> bool:
    """SIGKILL the scrape `then_s` after the store first holds `images` images (unless it ended
    first); True when it was killed. Drawn from the scrape's progress, not the clock: a scrape
    of drawings already made finishes in a fraction of one that draws them, and a kill after
    its end tests nothing."""
    with Store(data, url=url) as store:
        while proc.poll() is None:
            if store.db.rows("SELECT count(*) FROM images")[0][0] >= images:
                return _kill_after(proc, then_s)
            time.sleep(0.01)
    proc.communicate(timeout=10)
    return False


def _await_saved_features(proc: ForkedRun, data: Path, url: str | None, feature_key: str) -> None:
    """Return once the build `proc` has saved features (or ended). TensorFlow takes seconds to
    start, and a kill before the first write tests nothing the store sees: the kill moments of
    the extracting builds are drawn from here."""
    with Store(data, url=url) as store:
        missing = len(store.features.images_without_features(feature_key))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if len(store.features.images_without_features(feature_key)) < missing:
                return
            time.sleep(0.05)


def _check_clean(data: Path, url: str | None) -> None:
    """What `store check` checks, in this process: the check after each kill opens the store as
    the next writer would (recovering what the killed one left) and finds nothing wrong."""
    with Store(data, url=url) as store:
        report = check_store(store)
    assert report.clean, report


def _check_clean_cli(config: Path) -> None:
    result = run_cli_here("store", "--config", str(config), "check")
    assert result.returncode == 0, result.stdout + result.stderr


def _stored(data: Path, url: str | None) -> set[str]:
    """The file names (sha256 + extension) of every stored image; asserts no post is twice."""
    with Store(data, url=url) as store:
        doubled = store.db.rows(
            "SELECT post_url FROM images WHERE post_url IS NOT NULL"
            " GROUP BY post_url HAVING count(*) > 1"
        )
        assert doubled == []
        return {path.name for _, path in store.images.image_files()}


@pytest.mark.slow
@pytest.mark.timeout(900)  # 1-2 minutes here: 40 kills, 40 store checks, 23 builds
def test_killed_scrapes_and_builds_lose_nothing(
    feed: BackgroundServer,
    tmp_path: Path,
    fork_launch: Callable[..., ForkedRun],
    store_url: str | None,
) -> None:
    rng = random.Random(20261123)
    config = write_config(tmp_path, feed.port, store_url)
    data = tmp_path / "data"
    # what is never killed runs in this process: a new interpreter would only import
    # TensorFlow again (6 s here); the killed runs below are processes of their own, forked
    # from a process that imported the command lines once (reliability.fork_start), so each
    # kill moment falls in the run's work, not in an interpreter's start
    first = run_cli_here("scraper", "--config", str(config), *scrape_args("boho", 12)[1:])
    assert first.returncode == 0, first.stderr
    built = run_cli_here("clustering", "--config", str(config), "build")
    assert built.returncode == 0, built.stderr

    app = create_app(load_config(config))
    with serve_app(app) as server:
        watcher = IndexWatcher(server.url, every_s=0.1)
        watcher.start()

        # 1. scrapes killed at random moments
        seen = _stored(data, store_url)
        counts: dict[str, int] = {}
        killed = 0
        for trial in range(TRIALS):
            tag = TAGS[trial % len(TAGS)]
            counts[tag] = 30 * (trial // len(TAGS) + 1)  # each round asks for more
            proc = fork_launch(config, *scrape_args(tag, counts[tag]))
            # each run has at least 25 new pictures to store: kill it after 0-19 of them
            target = len(seen) + rng.randrange(20)
            killed += _kill_once_stored(proc, data, store_url, target, rng.uniform(0.0, 0.1))
            _check_clean(data, store_url)
            now = _stored(data, store_url)
            assert seen <= now, f"trial {trial}: lost {sorted(seen - now)[:3]}"
            seen = now
        assert killed >= TRIALS - 2  # the runs were really cut short
        scrapes_killed = killed
        for tag, count in counts.items():  # resumed runs complete, and a re-run adds nothing
            package, *rest = scrape_args(tag, count)
            for attempt in range(2):  # in this process: nothing is killed here
                done = run_cli_here(package, "--config", str(config), *rest)
                assert done.returncode == 0, done.stderr
                if attempt:
                    assert done.stdout.strip().splitlines()[-1].startswith("added 0,"), done.stdout
        with Store(data, url=store_url) as store:
            assert all(run["status"] != "running" for run in store.runs.recent(200))
        seen = _stored(data, store_url)
        _check_clean_cli(config)

        # 2. builds killed at random moments: first while they extract and save features, then
        # while they cluster and swap the new index in
        previous = load_index(data / "index")
        feature_key = previous.meta.feature_key
        killed = 0

        def unharmed(trial: int) -> None:
            nonlocal previous
            _check_clean(data, store_url)
            index = load_index(data / "index")  # the current index is always complete
            assert len(index.ids) == len(index.vectors) == len(index.labels) > 0, trial
            assert len(index.ids) >= len(previous.ids)
            previous = index
            assert _stored(data, store_url) == seen

        for trial in range(EXTRACTING):
            proc = fork_launch(config, "clustering", "build")
            _await_saved_features(proc, data, store_url, feature_key)
            killed += _kill_after(proc, rng.uniform(0.0, 1.0))
            unharmed(trial)
        began = time.monotonic()
        resumed = run_cli_here("clustering", "--config", str(config), "build")
        assert resumed.returncode == 0, resumed.stderr  # it finished what the killed ones began
        build_s = time.monotonic() - began
        with Store(data, url=store_url) as store:
            assert not store.features.images_without_features(feature_key)
        for trial in range(EXTRACTING, TRIALS):
            # a moment within a build's life as measured here (the last one that finished); the
            # first of these has nothing to extract, so it outlives its window and sets it
            began = time.monotonic()
            proc = fork_launch(config, "clustering", "build")
            cut = _kill_after(proc, rng.uniform(0.02, 0.95 * build_s))
            killed += cut
            build_s = build_s if cut else time.monotonic() - began
            unharmed(trial)
        assert killed >= TRIALS // 2
        final = run_cli_here("clustering", "--config", str(config), "build")
        assert final.returncode == 0, final.stderr
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and watcher.folders and len(watcher.folders) < 2:
            time.sleep(0.1)
        watcher.stop()

    index = load_index(data / "index")
    assert len(index.ids) == len(seen)  # every stored image made it into the final index
    assert watcher.polls > 100 and watcher.problems == []
    assert len(watcher.folders) >= 2  # it served the new index after builds, without a restart
    print(
        f"\ncrash safety ({'PostgreSQL' if store_url else 'SQLite'}): {scrapes_killed}/{TRIALS}"
        f" scrapes and {killed}/{TRIALS} builds killed"
        f" mid-run; {len(seen)} images kept intact; {watcher.polls} index polls, 0 problems;"
        f" {len(watcher.folders)} indexes served"
    )
