"""`make demo`: fill an empty store from the demo feed and build a style index, once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from clustering.build import build_indexes
from clustering.index import read_meta
from sandbox.demo_feed.sources import with_demo_sources
from sandbox.demo_feed.styles import STYLES
from scraper.scrape import scrape
from store import Store
from stylescout.settings import Config

log = logging.getLogger(__name__)
DEMO_TAGS: tuple[str, ...] = tuple(STYLES)


def prepare_demo(
    config: Config,
    store: Store,
    tags: Sequence[str] = DEMO_TAGS,
    per_tag: int = 40,
    say: Callable[[str], None] = print,
) -> bool:
    """Scrape `per_tag` images of each demo style tag and build the index, unless an index
    exists already. Returns whether anything was done."""
    if read_meta(store.index_dir) is not None:
        return False
    config = with_demo_sources(config)
    for tag in tags:
        result = scrape(config.scraping, tag, per_tag, config.scraper.default_source, store=store)
        say(
            f"scraped #{tag} ({result.progress.mode} mode): "
            + result.progress.summary(result.seconds)
        )
    say("building the style index (the first build loads TensorFlow and extracts features)")
    reports = build_indexes(config.engine, store)
    if reports[0].weights_note:
        say(f"WARNING: {reports[0].weights_note}")
    for n, report in enumerate(reports):
        say(("challenger " if n else "") + report.summary())
    return True
