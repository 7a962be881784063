"""Scrape a tag into the store: the Python API behind `python -m scraper scrape` and the dashboard.

    result = scrape(config, "boho", 50, progress=print, cancel=threading.Event())

`count` is how many images of the tag the source should have given: posts already stored (same
post URL) count towards it, so re-running a finished scrape adds nothing, a resumed one adds the
rest, and new posts at the top of the feed are picked up. Reposts recorded by an earlier run are
not fetched again and, as on the first run, do not count. Downloads run in a bounded thread pool;
storing is serialised so near-duplicates are caught even when two arrive at once. A repost (the
same bytes, or a near-duplicate confirmed by `scraper.near_duplicates`) keeps the stored image and
is recorded as one more post of it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from scraper.downloader import Downloader, DownloadFailed
from scraper.image_check import ImageRejected, inspect_image
from scraper.near_duplicates import NearDuplicates
from scraper.posts import Post
from scraper.sources import build_source
from scraper.sources.factory import Source
from store import Config, ImageMeta, ScrapeError, Store, StoreError, normalise_tag

log = logging.getLogger(__name__)


@dataclass
class ScrapeProgress:
    """Live counts of one scrape, passed to the progress callback after every change."""

    tag: str
    source: str
    mode: str
    requested: int
    found: int = 0
    skipped: int = 0  # posts whose image is stored already: they count towards the count
    known_reposts: int = 0  # reposts recorded by an earlier run: not fetched, not counted
    added: int = 0
    duplicates: int = 0
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    status: str = "running"

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    @property
    def wanted(self) -> int:
        """How many more images this run should add."""
        return max(0, self.requested - self.skipped - self.added)

    def summary(self, seconds: float) -> str:
        """`added A, duplicates D, failed F (reason n, ...), in S s` (+ already stored)."""
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.failed_by_reason.items()))
        failed = f"failed {self.failed}" + (f" ({reasons})" if reasons else "")
        line = f"added {self.added}, duplicates {self.duplicates}, {failed}, in {seconds:.1f} s"
        known = self.skipped + self.known_reposts
        return line + (f" ({known} already stored)" if known else "")


@dataclass(frozen=True)
class ScrapeResult:
    """The outcome: final counts, the run's id in the store and how long it took."""

    progress: ScrapeProgress
    run_id: int
    seconds: float


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def demo_feed_running(config: Config) -> Iterator[None]:
    """Make sure the demo feed answers, starting it in this process when nothing listens."""
    cfg = config.demo_feed
    if _listening(cfg.host, cfg.port):
        yield
        return
    from scraper.demo_feed.server import BackgroundServer
    from scraper.demo_feed.site import create_feed_app

    log.info("starting the embedded demo feed on %s:%d", cfg.host, cfg.port)
    with BackgroundServer(create_feed_app(cfg), cfg.host, cfg.port):
        yield


class _Collector:
    """Stores downloaded images one at a time: exact and near duplicates, the count limit."""

    def __init__(
        self,
        store: Store,
        config: Config,
        tag: str,
        progress: ScrapeProgress,
        notify: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.tag = tag
        self.progress = progress
        self.notify = notify
        self.lock = threading.RLock()  # re-entered when a store error is counted while storing
        self.duplicates = NearDuplicates(store, config.scraper.near_duplicate_distance)

    def fetch_and_store(self, downloader: Downloader, post: Post) -> None:
        """Worker body: download, check, store; every outcome is counted."""
        try:
            data = downloader.fetch_image(post.image_url)
            info = inspect_image(data, self.config.scraper.max_pixels)
        except (DownloadFailed, ImageRejected) as exc:
            self._count_failure(exc.reason, post, exc)
            return
        tags = [self.tag, *post.tags]
        meta = ImageMeta(
            width=info.width,
            height=info.height,
            format=info.format,
            source=post.source,
            phash=info.phash,
            source_url=post.image_url,
            post_url=post.post_url,
            caption=post.caption,
            posted_at=post.posted_at,
            likes=post.likes,
        )
        with self.lock:
            if self.progress.wanted == 0:
                return  # enough already: a surplus download is dropped, not stored
            try:
                kept = self.duplicates.find(info.phash, info.fingerprint)
                if kept is not None:  # a repost: recorded against the image already stored
                    self.store.add_post(kept, meta, tags)
                    self.progress.duplicates += 1
                else:
                    result = self.store.add_image_bytes(data, meta, tags)
                    if result.created:
                        self.progress.added += 1
                        self.duplicates.add(result.image_id, info.phash, info.fingerprint)
                    else:  # the same bytes: the store recorded the post against them
                        self.progress.duplicates += 1
            except StoreError as exc:
                self._count_failure("store", post, exc)
                return
            self.notify()

    def _count_failure(self, reason: str, post: Post, exc: Exception) -> None:
        log.info("failed %s", exc)
        with self.lock:
            self.progress.failed_by_reason[reason] += 1
            self.notify()


def scrape(
    config: Config,
    tag: str,
    count: int,
    source: str | None = None,
    *,
    progress: Callable[[ScrapeProgress], None] | None = None,
    cancel: threading.Event | None = None,
    store: Store | None = None,
) -> ScrapeResult:
    """Gather up to `count` new images tagged `tag` from a source into the store.

    `progress` is called (from worker threads too) after every change; setting `cancel` stops the
    scrape soon after, recorded as interrupted. Raises ScrapeError or ConfigError before any
    request when the tag, count or source is bad.
    """
    tag = normalise_tag(tag)
    if count < 1:
        raise ScrapeError(f"--count must be at least 1, not {count}")
    name = source or config.scraper.default_source
    cfg = config.source(name)
    cancel = cancel or threading.Event()
    owns_store = store is None
    store = store or Store.from_config(config)
    started = time.monotonic()
    feed = demo_feed_running(config) if cfg.starts_demo_feed else contextlib.nullcontext()
    downloader = Downloader(
        config.scraper,
        host_spacing_s=cfg.host_spacing_s,
        robots=cfg.robots,
        allow_private_network=cfg.allow_private_network,
        allowed_hosts=getattr(cfg, "allowed_hosts", []),  # getattr: older SourceConfig lacks it
    )
    try:
        finder = build_source(name, config, downloader)
        state = ScrapeProgress(tag=tag, source=name, mode=finder.mode, requested=count)
        notify = (lambda: progress(state)) if progress else (lambda: None)
        collector = _Collector(store, config, tag, state, notify)
        run_id = store.start_run(tag, name, count)
        notify()
        try:
            with feed:
                _run(finder, downloader, collector, store, state, cancel, config.scraper.workers)
        except BaseException as exc:  # recorded, then re-raised
            failed = isinstance(exc, Exception) and not cancel.is_set()
            state.status = "failed" if failed else "interrupted"  # Ctrl-C is not an Exception
            store.finish_run(
                run_id, state.status, state.added, state.duplicates, dict(state.failed_by_reason)
            )
            notify()
            raise
        state.status = "interrupted" if cancel.is_set() else "completed"
        store.finish_run(
            run_id, state.status, state.added, state.duplicates, dict(state.failed_by_reason)
        )
        notify()
        return ScrapeResult(state, run_id, time.monotonic() - started)
    finally:
        downloader.close()
        if owns_store:
            store.close()


def _run(
    finder: Source,
    downloader: Downloader,
    collector: _Collector,
    store: Store,
    state: ScrapeProgress,
    cancel: threading.Event,
    workers: int,
) -> None:
    """Pull posts and keep at most `workers` downloads in flight until the count is reached."""
    posts = finder.search(state.tag)
    pending: set[Future[None]] = set()
    scheduled: set[str] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="download") as pool:
        try:
            for post in posts:
                if cancel.is_set():
                    break
                if post.image_url in scheduled:
                    continue  # the same image twice on one feed
                with collector.lock:
                    state.found += 1
                    known = store.post_status(post.post_url) if post.post_url else None
                    if known is not None:
                        if known == "repost":
                            state.known_reposts += 1
                        else:
                            state.skipped += 1
                        collector.notify()
                        if state.wanted == 0:
                            break
                        continue
                scheduled.add(post.image_url)
                pending.add(pool.submit(collector.fetch_and_store, downloader, post))
                # never more in flight than could still be needed, nor than workers
                while pending and (len(pending) >= workers or len(pending) >= state.wanted):
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                    if cancel.is_set():
                        break
                if state.wanted == 0:
                    break
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finally:
            close = getattr(posts, "close", None)
            if close:
                close()  # stops the browser of a browser source
            for future in pending:
                if not future.cancelled():
                    future.result()
