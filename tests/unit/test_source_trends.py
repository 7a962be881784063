"""Styles and trends per source, counted on a small hand-made store with two sources.

Counts follow the trends rules (every post counts, reposts included) and the site a post was seen
on: a repost on mastodon of an image first stored from demo counts for mastodon."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from clustering.trends.shares import (
    images_on,
    source_styles,
    weekly_shares,
    weekly_shares_by_source,
)
from store import Store
from tests.conftest import jpeg_bytes, meta_for

WEEK_A = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)  # a Tuesday: the week of Monday 2 Nov
WEEK_B = WEEK_A + dt.timedelta(weeks=1)
# image seed: (style or None when not in the index, source it was stored from, week, tag)
IMAGES = {
    1: (0, "demo", WEEK_A, "boho"),
    2: (0, "demo", WEEK_A, "boho"),
    3: (1, "demo", WEEK_A, "boho"),
    4: (1, "demo", WEEK_B, "boho"),
    5: (2, "mastodon", WEEK_A, "street"),
    6: (2, "mastodon", WEEK_B, "street"),
    7: (None, "mastodon", WEEK_A, "street"),  # stored after the index was built
}
REPOSTS = [  # (image seed, source of the repost, week)
    (1, "mastodon", WEEK_B),  # a demo image seen again on another site
    (3, "demo", WEEK_B),
    (5, "mastodon", WEEK_B),
]


@pytest.fixture
def two_sources(store: Store) -> tuple[Store, np.ndarray, np.ndarray]:
    """The store, and the index's ids and labels (images 1-6; image 7 has no style)."""
    ids = {}
    for seed, (_, source, week, tag) in IMAGES.items():
        meta = meta_for(seed, source=source, posted_at=week)
        ids[seed] = store.images.add_image_bytes(jpeg_bytes(seed), meta, [tag]).image_id
    for n, (seed, source, week) in enumerate(REPOSTS):
        repost = meta_for(100 + n, source=source, posted_at=week + dt.timedelta(days=1))
        assert store.images.add_post(ids[seed], repost)
    indexed = [s for s, (style, *_) in IMAGES.items() if style is not None]
    return (
        store,
        np.array([ids[s] for s in indexed], np.int64),
        np.array([IMAGES[s][0] for s in indexed], np.int32),
    )


def test_the_store_names_the_site_of_every_post(two_sources) -> None:
    store, ids, _ = two_sources
    posts = store.images.source_post_times()
    assert len(posts) == len(IMAGES) + len(REPOSTS)
    assert [(i, t) for i, _, t in posts] == store.images.post_times()  # the same posts, same order
    first = int(ids[0])  # image 1: stored from demo, reposted on mastodon
    assert [s for i, s, _ in posts if i == first] == ["demo", "mastodon"]
    assert store.images.image(first)["source"] == "demo"
    assert {s for _, s, _ in store.images.source_post_times("street")} == {"mastodon"}
    assert [s for _, s, _ in store.images.source_post_times("boho")].count("mastodon") == 1
    assert images_on(posts, "mastodon") == {first, *(int(i) for i in ids[4:]), 7}


def test_style_counts_and_shares_per_source(two_sources) -> None:
    store, ids, labels = two_sources
    counts = source_styles(store.images.source_post_times(), ids, labels, 3)
    assert counts.sources == ["demo", "mastodon"]  # most posts first
    # rows: styles 0-2; columns: demo, mastodon (image 7 has no style: left out)
    assert counts.posts.tolist() == [[2, 1], [3, 0], [0, 3]]
    assert counts.items.tolist() == [[2, 1], [2, 0], [0, 2]]  # image 3's two demo posts: 1 item
    assert counts.totals.tolist() == [5, 4]
    assert np.allclose(counts.shares, [[2 / 5, 1 / 4], [3 / 5, 0], [0, 3 / 4]])
    assert np.allclose(counts.shares.sum(axis=0), 1)  # shares are within each source

    boho = source_styles(store.images.source_post_times("boho"), ids, labels, 3)
    assert boho.sources == ["demo", "mastodon"] and boho.posts.tolist() == [[2, 1], [3, 0], [0, 0]]
    empty = source_styles([], ids, labels, 3)
    assert empty.sources == [] and empty.posts.shape == (3, 0) and empty.shares.shape == (3, 0)


def test_weekly_shares_within_each_source(two_sources) -> None:
    store, ids, labels = two_sources
    posts = store.images.source_post_times()
    by_source = weekly_shares_by_source(posts, ids, labels, 3)
    assert list(by_source) == ["demo", "mastodon"]
    demo, mastodon = by_source["demo"], by_source["mastodon"]
    assert [str(w) for w in demo.weeks] == ["2026-11-02", "2026-11-09"]
    assert [str(w) for w in mastodon.weeks] == ["2026-11-02", "2026-11-09"]
    assert demo.counts.tolist() == [[2, 1, 0], [0, 2, 0]]
    assert mastodon.counts.tolist() == [[0, 0, 1], [1, 0, 2]]  # image 7 is left out
    # a style's share of that source's posts that week, not of all posts
    assert np.allclose(demo.shares, [[2 / 3, 1 / 3, 0], [0, 1, 0]])
    assert np.allclose(mastodon.shares, [[0, 0, 1], [1 / 3, 0, 2 / 3]])
    overall = weekly_shares([(i, t) for i, _, t in posts], ids, labels, 3)
    assert overall.counts.tolist() == (demo.counts + mastodon.counts).tolist()
    assert np.allclose(overall.shares, [[2 / 4, 1 / 4, 1 / 4], [1 / 5, 2 / 5, 2 / 5]])
    assert weekly_shares_by_source([(7, "elsewhere", "2026-11-03")], ids, labels, 3) == {}


def test_source_figures_show_names_as_text_and_shares_within_each_source(two_sources) -> None:
    from dash_app.ui import figures

    store, ids, labels = two_sources
    posts = [
        (i, "<b>demo</b>" if s == "demo" else s, t) for i, s, t in store.images.source_post_times()
    ]
    table = figures.source_styles(source_styles(posts, ids, labels, 3), ["a", "b", "c"]).data[0]
    assert list(table.x) == ["&lt;b&gt;demo&lt;/b&gt;", "mastodon"]  # Plotly reads tags in labels
    assert np.allclose(table.z, [[40, 25], [60, 0], [0, 75]])
    by_source = weekly_shares_by_source(posts, ids, labels, 3)
    panels = figures.trends_by_source(by_source, ["a", "b", "c"])
    assert [a.text for a in panels.layout.annotations] == [
        "&lt;b&gt;demo&lt;/b&gt; · 5 posts",
        "mastodon · 4 posts",
    ]
    assert "sites of different sizes compare fairly" in panels.layout.title.subtitle.text
    assert panels.layout.yaxis.range == panels.layout.yaxis2.range == (0, 105.0)
