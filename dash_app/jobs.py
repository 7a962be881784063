"""The Scrape page's job without Dash: scrape a tag, then rebuild the style index, reporting
progress and honouring a cancel flag.

The build runs in a freshly spawned process: the dashboard's own process may already hold
TensorFlow (for people's photos), and TensorFlow does not survive a fork.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from store import Store
from stylescout.errors import StyleScoutError
from stylescout.settings import Config
from stylescout.spawned import run_spawned

log = logging.getLogger(__name__)
BUILD_STAGES = {
    "features": "extracting features",
    "colour": "colour",
    "garment": "garment shape and colour",
    "clustering": "clustering",
    "trends": "emerging looks",
}


@dataclass
class JobStatus:
    """What the page shows while the job runs (and at its end)."""

    stage: str = "starting"  # starting | scraping | building | done | cancelled | failed | refused
    detail: str = ""
    found: int = 0
    added: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    # posts the sources passed over on purpose, by reason ("video": 3, "text only": 2)
    skipped_posts: dict[str, int] = field(default_factory=dict)
    requested: int = 0
    build_done: int = 0
    build_total: int = 0
    build_fraction: float = 0.0  # features 0-0.8, colour 0.8-0.9, clustering 0.9-1
    styles: list[str] = field(default_factory=list)
    message: str = ""

    def fraction(self) -> float:
        """Overall progress 0..1: the scrape is the first half, the build the second."""
        if self.stage == "done":
            return 1.0
        if self.stage == "refused":
            return 0.0
        scraped = 0.0
        if self.requested:
            scraped = min(1.0, (self.added + self.skipped) / self.requested)
        if self.stage in ("starting", "scraping"):
            return 0.5 * scraped
        return 0.5 + 0.5 * min(1.0, self.build_fraction)

    def as_dict(self) -> dict:
        return asdict(self)


def default_sources(config: Config) -> list[str]:
    """The configured default source, else the first one switched on."""
    default = config.scraper.default_source
    if default in config.sources and config.sources[default].enabled:
        return [default]
    return next(([n] for n in sorted(config.sources) if config.sources[n].enabled), [])


def run_build(
    config: Config,
    on_progress: Callable[[str, int, int], None],
    cancel: threading.Event,
    timeout_s: float = 3600,
) -> str:
    """Build the index in a spawned process (the index swap is atomic, so stopping it on a
    cancel leaves the previous one in use); returns its summary (raises StyleScoutError)."""
    from clustering.build import rebuild

    return run_spawned(
        rebuild,  # its module, not this one, is what the child imports: no Dash there
        config.engine,
        what="the build",
        on_progress=on_progress,
        cancel=cancel,
        cancelled="cancelled: the previous index stays in use",
        timeout_s=timeout_s,
    )


def scrape_and_build(
    config: Config,
    tag: str,
    count: int,
    sources: list[str] | str | None,
    report: Callable[[JobStatus], None],
    cancel: threading.Event,
) -> JobStatus:
    """Scrape `count` images of `tag` from each of `sources` (at once), then rebuild the index
    when anything new was added. `report` is called with the status (summed over the sources)
    as it changes; a source that fails is named in the message while the others go on."""
    from clustering.index import read_meta
    from scraper.scrape import parse_sources, scrape_sources

    names = sources if isinstance(sources, list) else parse_sources(sources, config.scraping)
    status = JobStatus(stage="scraping", requested=count * len(names))
    report(status)
    latest: dict[str, object] = {}
    lock = threading.Lock()

    def on_scrape(progress: object) -> None:
        with lock:
            latest[progress.source] = progress
            every = list(latest.values())
            status.found = sum(p.found for p in every)
            status.added = sum(p.added for p in every)
            status.duplicates = sum(p.duplicates for p in every)
            status.failed = sum(p.failed for p in every)
            status.skipped = sum(p.skipped for p in every)
            passed: Counter[str] = Counter()
            for p in every:
                passed.update(p.skipped_by_reason)
            status.skipped_posts = dict(passed)
            report(status)

    try:
        outcomes = scrape_sources(
            config.scraping, tag, count, names, progress=on_scrape, cancel=cancel
        )
        failed = [o for o in outcomes if o.error is not None]
        if len(failed) == len(outcomes):
            error = failed[0].error
            raise error if isinstance(error, StyleScoutError) else StyleScoutError(str(error))
        with Store.from_config(config) as store:
            has_index = read_meta(store.index_dir) is not None
        stopped = "".join(f" {o.source} stopped: {o.error}." for o in failed)
        if cancel.is_set():
            status.stage, status.message = "cancelled", "Cancelled: what was added is kept."
            report(status)
            return status
        if status.added == 0 and has_index:
            status.stage = "done"
            status.message = "Nothing new to add, so the styles are unchanged." + stopped
            report(status)
            return status
        status.stage, status.detail = "building", "loading the model"
        report(status)

        def on_build(stage: str, done: int, total: int) -> None:
            base = stage.removeprefix("challenger ")
            status.detail = ("challenger: " if base != stage else "") + BUILD_STAGES.get(base, base)
            status.build_done, status.build_total = done, total
            part = done / total if total else 1.0
            spans = {"features": (0.0, 0.8), "colour": (0.8, 0.05), "garment": (0.85, 0.05)}
            start, width = spans.get(stage, (0.9, 0.1))
            status.build_fraction = max(status.build_fraction, start + width * part)
            report(status)

        summary = f"Added {status.added} images; " + run_build(config, on_build, cancel) + "."
        summary += stopped
        with Store.from_config(config) as store:
            meta = read_meta(store.index_dir)
        status.styles = list(meta.names) if meta else []
        status.stage, status.message = "done", summary
    except StyleScoutError as exc:
        cancelled = cancel.is_set()
        status.stage = "cancelled" if cancelled else "failed"
        status.message = str(exc)
        log.warning("scrape job %s: %s", status.stage, exc)
    report(status)
    return status
