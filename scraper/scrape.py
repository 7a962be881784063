"""Scrape a tag into the store: the Python API behind `python -m scraper scrape` and the dashboard.

    result = scrape(config.scraping, "boho", 50, progress=print, cancel=threading.Event())

`count` is how many images of the tag the source should have given: posts already stored (same
post URL) count towards it, so re-running a finished scrape adds nothing, a resumed one adds the
rest, and new posts at the top of the feed are picked up. Reposts recorded by an earlier run are
not fetched again and, as on the first run, do not count. Downloads run in a bounded thread pool;
storing is serialised so near-duplicates are caught even when two arrive at once. A repost (the
same bytes, or a near-duplicate confirmed by `scraper.near_duplicates`) keeps the stored image and
is recorded as one more post of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from scraper.downloader import Downloader, DownloadFailed
from scraper.image_check import ImageRejected, inspect_image
from scraper.near_duplicates import NearDuplicates
from scraper.posts import Post, skipped_text
from scraper.sources.base import Source
from scraper.sources.registry import build_source
from store import ImageMeta, Store
from stylescout.errors import StoreError, UsageError
from stylescout.settings import ScrapeSettings
from stylescout.tags import normalise_tag

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
    # posts passed over on purpose (a video, a text post, a boost): posts, not images
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    status: str = "running"

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    @property
    def wanted(self) -> int:
        """How many more images this run should add."""
        return max(0, self.requested - self.skipped - self.added)

    def summary(self, seconds: float) -> str:
        """`added A, duplicates D, failed F (reason n, ...), skipped P (n video, ...), in S s`
        (+ already stored); `skipped` counts posts without a photo to keep, by reason."""
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.failed_by_reason.items()))
        failed = f"failed {self.failed}" + (f" ({reasons})" if reasons else "")
        passed = self.skipped_by_reason
        skipped = f", skipped {skipped_text(passed)}" if passed else ""
        line = (
            f"added {self.added}, duplicates {self.duplicates}, {failed}{skipped},"
            f" in {seconds:.1f} s"
        )
        known = self.skipped + self.known_reposts
        return line + (f" ({known} already stored)" if known else "")


@dataclass(frozen=True)
class ScrapeResult:
    """The outcome: final counts, the run's id in the store and how long it took."""

    progress: ScrapeProgress
    run_id: int
    seconds: float


@dataclass
class StoringGuard:
    """What scrapes running at once share, so that a repost seen on two sites at the same time
    is still stored once: one lock around storing and one near-duplicate index."""

    lock: threading.RLock
    duplicates: NearDuplicates

    @classmethod
    def for_store(cls, store: Store, config: ScrapeSettings) -> StoringGuard:
        # an RLock: re-entered when a store error is counted while storing
        return cls(threading.RLock(), NearDuplicates(store, config.scraper.near_duplicate_distance))


def downloader_for(config: ScrapeSettings, name: str) -> Downloader:
    """The downloader a source's requests go through, with the source's network settings."""
    cfg = config.source(name)
    return Downloader(
        config.scraper,
        host_spacing_s=cfg.host_spacing_s,
        robots=cfg.robots,
        allow_private_network=cfg.allow_private_network,
        allowed_hosts=cfg.allowed_hosts,
    )


class _Collector:
    """Stores downloaded images one at a time: exact and near duplicates, the count limit."""

    def __init__(
        self,
        store: Store,
        config: ScrapeSettings,
        tag: str,
        progress: ScrapeProgress,
        notify: Callable[[], None],
        guard: StoringGuard,
    ) -> None:
        self.store = store
        self.config = config
        self.tag = tag
        self.progress = progress
        self.notify = notify
        self.lock = guard.lock
        self.duplicates = guard.duplicates

    def fetch_and_store(self, downloader: Downloader, post: Post, image_url: str) -> None:
        """Worker body: download one image of a post, check, store; every outcome is counted."""
        try:
            data = downloader.fetch_image(image_url)
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
            source_url=image_url,
            post_url=post.post_url,
            caption=post.caption,
            posted_at=post.posted_at,
            likes=post.likes,
            author=post.author,
            author_url=post.author_url,
            licence=post.licence,
        )
        with self.lock:
            if self.progress.wanted == 0:
                return  # enough already: a surplus download is dropped, not stored
            try:
                kept = self.duplicates.find(info.phash, info.fingerprint)
                if kept is not None:  # a repost: recorded against the image already stored
                    self.store.images.add_post(kept, meta, tags)
                    self.progress.duplicates += 1
                else:
                    result = self.store.images.add_image_bytes(data, meta, tags)
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
        self.count_failure(reason)

    def count_skip(self, reason: str, where: str | None = None) -> None:
        """One more post passed over on purpose by the source; shown with the next update (a
        page of text posts is not a progress update per post)."""
        with self.lock:
            self.progress.skipped_by_reason[reason] += 1

    def count_failure(self, reason: str) -> None:
        """One more failure (also what a source could not use: an item without its field)."""
        with self.lock:
            self.progress.failed_by_reason[reason] += 1
            self.notify()


def scrape(
    config: ScrapeSettings,
    tag: str,
    count: int,
    source: str | None = None,
    *,
    progress: Callable[[ScrapeProgress], None] | None = None,
    cancel: threading.Event | None = None,
    store: Store | None = None,
    guard: StoringGuard | None = None,
) -> ScrapeResult:
    """Gather up to `count` new images tagged `tag` from a source into the store.

    `progress` is called (from worker threads too) after every change; setting `cancel` stops the
    scrape soon after, recorded as interrupted. Raises ScrapeError or ConfigError before any
    request when the tag, count or source is bad. `guard` is shared by scrapes running at once
    (see `scrape_sources`).
    """
    tag = normalise_tag(tag)
    if count < 1:
        raise UsageError(f"--count must be at least 1, not {count}")
    name = parse_sources(source, config)[0] if source is None else source
    config.source(name)
    cancel = cancel or threading.Event()
    owns_store = store is None
    store = store or Store.from_config(config)
    started = time.monotonic()
    downloader = downloader_for(config, name)
    try:
        finder = build_source(name, config, downloader, cancel)
        state = ScrapeProgress(tag=tag, source=name, mode=finder.mode, requested=count)
        notify = (lambda: progress(state)) if progress else (lambda: None)
        collector = _Collector(
            store, config, tag, state, notify, guard or StoringGuard.for_store(store, config)
        )
        finder.report_failure = collector.count_failure
        finder.report_skip = collector.count_skip
        run_id = store.runs.start_run(tag, name, count)
        notify()
        try:
            _run(finder, downloader, collector, store, state, cancel, config.scraper.workers)
        except BaseException as exc:  # recorded, then re-raised
            failed = isinstance(exc, Exception) and not cancel.is_set()
            state.status = "failed" if failed else "interrupted"  # Ctrl-C is not an Exception
            store.runs.finish_run(
                run_id, state.status, state.added, state.duplicates, dict(state.failed_by_reason)
            )
            notify()
            raise
        state.status = "interrupted" if cancel.is_set() else "completed"
        store.runs.finish_run(
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
                images = [u for u in post.image_urls if u not in scheduled]
                if not images:
                    continue  # the same image twice on one feed
                with collector.lock:
                    state.found += len(images)
                    known = store.images.post_status(post.post_url) if post.post_url else None
                    if known == "repost":  # recorded against an image stored from elsewhere
                        state.known_reposts += len(images)
                        collector.notify()
                        continue
                    if known == "image":  # each image of the post decided on its own
                        stored = store.images.stored_image_urls(post.post_url or "")
                        state.skipped += sum(1 for u in images if u in stored)
                        images = [u for u in images if u not in stored]
                        collector.notify()
                    if state.wanted == 0:
                        break
                    if not images:
                        continue
                for image_url in images:
                    if state.wanted == 0:
                        break
                    scheduled.add(image_url)
                    job = pool.submit(collector.fetch_and_store, downloader, post, image_url)
                    pending.add(job)
                    # never more in flight than could still be needed, nor than workers
                    while pending and (len(pending) >= workers or len(pending) >= state.wanted):
                        done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                        if cancel.is_set():
                            break
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


def parse_sources(value: str | None, config: ScrapeSettings) -> list[str]:
    """Source names from `a,b,c` (default: the configured default), each known and once."""
    value = value or config.scraper.default_source
    if not value:
        known = ", ".join(sorted(n for n, c in config.sources.items() if c.enabled))
        raise UsageError(f"give --source: one or more of {known} (demo: the built-in demo feed)")
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError("--source needs at least one source name")
    for name in names:
        config.source(name)  # ConfigError naming the configured ones
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class SourceOutcome:
    """One source's part of a multi-source scrape: its result, or the error that stopped it."""

    source: str
    result: ScrapeResult | None
    error: Exception | None


def _wait_through_interrupts(events: Iterable[threading.Event]) -> None:
    """Wait for every event; a further Ctrl-C while the sources wind down is ignored."""
    for event in events:
        while not event.is_set():
            try:
                event.wait(0.2)
            except KeyboardInterrupt:
                log.warning("still stopping: waiting for the sources to finish")


def scrape_sources(
    config: ScrapeSettings,
    tag: str,
    count: int,
    sources: list[str],
    *,
    progress: Callable[[ScrapeProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[SourceOutcome]:
    """`scrape` for several sources at once, `count` images each, into one store.

    Each source runs in its own thread with its own downloader and run record; they share the
    store's storing lock and near-duplicate index. One source failing does not stop the others:
    its error is in its outcome. Ctrl-C (or `cancel`) stops them all.
    """
    tag = normalise_tag(tag)
    if count < 1:
        raise UsageError(f"--count must be at least 1, not {count}")
    for name in sources:
        config.source(name)
    cancel = cancel or threading.Event()
    outcomes: dict[str, SourceOutcome] = {}
    with Store.from_config(config) as store:
        guard = StoringGuard.for_store(store, config)

        finished = {name: threading.Event() for name in sources}

        def one(name: str) -> None:
            try:
                result = scrape(
                    config,
                    tag,
                    count,
                    name,
                    progress=progress,
                    cancel=cancel,
                    store=store,
                    guard=guard,
                )
                outcomes[name] = SourceOutcome(name, result, None)
            except Exception as exc:  # reported per source; the others go on
                log.info("source %s stopped: %s", name, exc)
                outcomes[name] = SourceOutcome(name, None, exc)
            finally:
                finished[name].set()

        for name in sources:
            threading.Thread(target=one, args=(name,), name=f"scrape-{name}", daemon=True).start()
        # Waits are on Events, not Thread.join: on Python 3.11 a join interrupted by Ctrl-C can
        # mark a thread that is still running as stopped, and the store would then be closed
        # under its download workers.
        try:
            for done in finished.values():
                while not done.wait(0.2):
                    pass
        except BaseException:
            cancel.set()  # Ctrl-C: every source stops and records itself as interrupted
            log.warning("stopping: each source finishes the images in flight and records its run")
            _wait_through_interrupts(finished.values())  # the store must outlive every source
            raise
    return [outcomes[name] for name in sources]
