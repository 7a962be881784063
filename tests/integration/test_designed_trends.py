"""The trend view on real photos against a designed truth: fashion-small-dev's product photos
posted over 12 weeks (`sandbox.designed_feed`: Backpacks and Formal Shoes ramp up, Belts and
Watches ramp down, 20 kinds stay flat, every caption just `#look`), scraped from a local feed as a
person would and built with random weights. The regions must name the designed kinds in their
direction and no flat kind (`python -m bench.designed_trends` has the figures of every method)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from clustering.build import build_index
from clustering.index import read_derived
from clustering.trends.model import parse_time, series
from clustering.trends.regions import Region, find_regions
from sandbox.demo_feed.server import BackgroundServer
from sandbox.designed_feed import TAG, DesignedFeed, designed_feed
from scraper.scrape import scrape
from store import Store
from tests.conftest import FASHION, make_config

pytestmark = [pytest.mark.model, pytest.mark.slow]  # builds a Keras backbone


@pytest.mark.skipif(not FASHION.is_dir(), reason=f"needs the shared data set at {FASHION}")
def test_regions_name_the_designed_kinds_in_direction_and_no_flat_kind(data_dir: Path) -> None:
    feed = designed_feed(FASHION)
    photos = Counter(kind for kind in {p.photo: p.kind for p in feed.posts}.values())
    assert min(photos[k] for k in (*feed.rising, *feed.falling)) >= 40
    for kind in feed.rising:
        counts = feed.weekly_counts(kind)
        assert counts[-3:].sum() >= 2 * counts[:3].sum()  # at least doubling, as designed
    with BackgroundServer(feed.app(), "127.0.0.1", 0) as server:
        config = make_config(
            data_dir,
            sources={"designed": DesignedFeed.source(server.url)},
            scraper={"workers": 4},
            features={
                "weights": "none",
                "input_size": 64,
                "batch_size": 32,
                "garment": {"enabled": True},
            },
        )
        result = scrape(config.scraping, TAG, len(feed.posts), "designed")
    assert result.progress.added + result.progress.duplicates == len(feed.posts)
    with Store(data_dir) as store:
        assert [t for t, _ in store.images.tag_counts()] == [TAG]  # captions say nothing else
        every = [w for _, s in store.images.post_times() if (w := parse_time(s))]
        [overall] = series({"all": every}, every)
        assert len(overall.coverage.weeks) == 12  # the newest week is whole: every week counts

        _, index = build_index(config.engine, store)
        regions = find_regions(store, index.ids, index.vectors, config.clustering)
        # the build kept the same regions with its index: the Trends page reads them
        kept = [Region.from_json(r) for r in read_derived(index.folder)["regions"]]
        assert [(r.name, r.direction, r.members) for r in kept] == [
            (r.name, r.direction, r.members) for r in regions
        ]
        kind_of = {
            int(i): feed.kind_of_url(url)
            for i, url in store.db.rows("SELECT id, post_url FROM images")
        }

    named: dict[str, set[str]] = {"right": set(), "wrong": set(), "flat": set(), "none": set()}
    for region in regions:
        kinds = Counter(kind_of[i] for i in region.members)
        kind, n = kinds.most_common(1)[0]
        if n <= region.size / 2:  # no majority kind: names none
            named["none"].add(region.name)
            continue
        designed = feed.direction_of(kind)
        verdict = (
            "flat" if designed == "flat" else "right" if designed == region.direction else "wrong"
        )
        named[verdict].add(kind)
        assert region.trend.significant and region.trend.adjusted_p <= 0.05
        low, high = region.trend.interval
        assert low > 0 if region.direction == "rising" else high < 0
        assert set(region.examples) <= set(region.members)
    assert named["flat"] == set() and named["wrong"] == set(), named
    assert len(named["right"]) >= 3, named  # measured: all four (docs/benchmarks.md)
    assert len(named["none"]) <= 1, named
