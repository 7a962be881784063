"""Style trends without Dash: each style's share of posts per week and which styles rise or fall,
overall and per source (the site each post was seen on)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clustering.trends.model import parse_time, week_start

if TYPE_CHECKING:
    from clustering.index import StyleIndex
    from store import Store


@dataclass(frozen=True)
class WeeklyShares:
    """Posts per week (rows: weeks, oldest first; columns: styles) and their shares."""

    weeks: list[dt.date]
    counts: np.ndarray  # int (w, k)

    def dense(self, min_posts: int) -> WeeklyShares:
        """Only weeks with at least `min_posts` posts (a share of 2 posts says little)."""
        keep = self.counts.sum(axis=1) >= min_posts
        return WeeklyShares(
            [w for w, k in zip(self.weeks, keep, strict=True) if k], self.counts[keep]
        )

    @property
    def shares(self) -> np.ndarray:
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, totals, out=np.zeros(self.counts.shape), where=totals > 0)


def week_of(stamp: str) -> dt.date | None:
    """The Monday (UTC) of the week of an ISO time stamp, or None when it cannot be read: the
    same weeks as the count model's (`clustering.trends.model`)."""
    when = parse_time(stamp)
    return None if when is None else week_start(when)


def weekly_shares(
    posts: Iterable[tuple[int, str]], ids: np.ndarray, labels: np.ndarray, n_styles: int
) -> WeeklyShares:
    """Count each style's posts per week from (image id, time) pairs, reposts included (posts
    without a time or whose image has no style are left out).

    Weeks with no posts between the first and the last are kept as zero rows."""
    style_of = dict(zip(ids.tolist(), labels.tolist(), strict=True))
    by_week: dict[dt.date, np.ndarray] = defaultdict(lambda: np.zeros(n_styles, np.int64))
    for image_id, stamp in posts:
        style = style_of.get(image_id)
        week = week_of(stamp) if style is not None else None
        if week is not None:
            by_week[week][style] += 1
    if not by_week:
        return WeeklyShares([], np.zeros((0, n_styles), np.int64))
    first, last = min(by_week), max(by_week)
    weeks = [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]
    counts = np.stack([by_week.get(w, np.zeros(n_styles, np.int64)) for w in weeks])
    return WeeklyShares(weeks, counts)


SourcePost = tuple[int, str, str]  # (image id, source, time): Store.source_post_times rows


def weekly_shares_by_source(
    posts: Iterable[SourcePost], ids: np.ndarray, labels: np.ndarray, n_styles: int
) -> dict[str, WeeklyShares]:
    """`weekly_shares` of each source's own posts (the same counting rules: reposts included),
    so a share is a style's share of that source's posts that week and sites of different sizes
    compare fairly. Sources with no counted post are left out; most posts first, then by name."""
    grouped: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for image_id, source, stamp in posts:
        grouped[source].append((image_id, stamp))
    weekly = {s: weekly_shares(p, ids, labels, n_styles) for s, p in grouped.items()}
    totals = {s: int(w.counts.sum()) for s, w in weekly.items()}
    order = sorted((s for s in weekly if totals[s]), key=lambda s: (-totals[s], s))
    return {s: weekly[s] for s in order}


@dataclass(frozen=True)
class SourceStyles:
    """Posts of each style (rows) seen on each source (columns), reposts included, and the
    distinct items behind them."""

    sources: list[str]  # most posts first, then by name
    posts: np.ndarray  # int (k, s)
    items: np.ndarray  # int (k, s)

    @property
    def totals(self) -> np.ndarray:
        """Each source's posts of indexed items."""
        return self.posts.sum(axis=0)

    @property
    def shares(self) -> np.ndarray:
        """Each style's share of its source's posts (every column sums to 1, or 0 when empty)."""
        totals = self.posts.sum(axis=0, keepdims=True)
        return np.divide(self.posts, totals, out=np.zeros(self.posts.shape), where=totals > 0)


def source_styles(
    posts: Iterable[SourcePost], ids: np.ndarray, labels: np.ndarray, n_styles: int
) -> SourceStyles:
    """Count every post of an indexed image against its style and the source it was seen on
    (posts of images without a style are left out), and the distinct items per cell."""
    style_of = dict(zip(ids.tolist(), labels.tolist(), strict=True))
    counts: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(n_styles, np.int64))
    seen: dict[str, set[int]] = defaultdict(set)
    for image_id, source, _stamp in posts:
        style = style_of.get(image_id)
        if style is not None:
            counts[source][style] += 1
            seen[source].add(image_id)
    sources = sorted(counts, key=lambda s: (-int(counts[s].sum()), s))
    items = np.zeros((n_styles, len(sources)), np.int64)
    for column, source in enumerate(sources):
        for image_id in seen[source]:
            items[style_of[image_id], column] += 1
    posts_matrix = (
        np.stack([counts[s] for s in sources], axis=1)
        if sources
        else np.zeros((n_styles, 0), np.int64)
    )
    return SourceStyles(sources, posts_matrix, items)


def index_sources(index: StyleIndex, store: Store) -> SourceStyles:
    """`source_styles` of every post of the index's items (all tags): the sources a page offers
    and accepts from its source control."""
    posts = store.images.source_post_times()
    return source_styles(posts, index.ids, index.labels, len(index.centroids))


def images_on(posts: Iterable[SourcePost], source: str) -> set[int]:
    """Ids of the images with at least one post on `source`."""
    return {image_id for image_id, name, _stamp in posts if name == source}


def trend_slopes(shares: np.ndarray, window: int = 6) -> np.ndarray:
    """Each style's change in share per week (least squares over the last `window` weeks)."""
    recent = shares[-window:]
    if len(recent) < 2:
        return np.zeros(shares.shape[1])
    x = np.arange(len(recent), dtype=float)
    x -= x.mean()
    return (x @ (recent - recent.mean(axis=0))) / float(x @ x)


def rising_and_falling(
    slopes: np.ndarray, names: list[str], top: int = 3, min_slope: float = 0.002
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """The styles gaining and losing share fastest: (name, points per week) each."""
    order = np.argsort(slopes)
    rising = [(names[i], float(slopes[i])) for i in order[::-1][:top] if slopes[i] > min_slope]
    falling = [(names[i], float(slopes[i])) for i in order[:top] if slopes[i] < -min_slope]
    return rising, falling


@dataclass(frozen=True)
class TagStyles:
    """Each style's share of a tag's posts per week (on one source, or all), and their trends."""

    everything: WeeklyShares | None  # every week with posts (None: nothing indexed)
    weekly: WeeklyShares | None  # the weeks with at least `min_posts` posts
    trends: list  # clustering.trends.model.Trend, fastest rising first
    by_source: dict[str, WeeklyShares]


def tag_styles(
    store: Store,
    index: StyleIndex,
    tag: str | None,
    source: str | None,
    min_posts: int,
    every_post: list | None = None,
    since: str | None = None,
) -> TagStyles:
    """What the Trends page and `/api/trends` show for a tag (None: all) and a source (None:
    all): the weekly shares of each style and which rise or fall (`share_trends`); `since` (an
    ISO day) leaves out older posts."""
    from clustering.trends.model import share_trends

    k = len(index.centroids)
    every_post = every_post if every_post is not None else store.images.source_post_times()
    posts = every_post if not tag else store.images.source_post_times(tag)
    if since:
        posts = [p for p in posts if p[2] >= since]
    by_source = weekly_shares_by_source(posts, index.ids, index.labels, k)
    if source is None:
        everything = weekly_shares([(i, t) for i, _, t in posts], index.ids, index.labels, k)
    else:
        everything = by_source.get(source)
    if everything is None or len(everything.weeks) == 0:
        return TagStyles(None, None, [], by_source)
    weekly = everything.dense(min_posts)
    if len(weekly.weeks) == 0:
        return TagStyles(everything, weekly, [], by_source)
    trends = share_trends(index.meta.names, weekly.weeks, weekly.counts)
    return TagStyles(everything, weekly, trends, by_source)
