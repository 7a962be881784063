"""Regions of the style space whose share of posts rises or falls: trends no fixed style holds.

With one caption tag on every post only the photos can show a trend, and a fixed style (or a
micro-style cut at one level) mixes many kinds of item, so a kind that doubles is diluted below
what the count model can see. The scan looks at every group of the style space's tree instead
(the same hierarchical clustering as the styles, every node from a handful of items up to a
quarter of them): are that group's posts later, or earlier, than all posts? The score of a group
is the standardised mean week of its posts, each post against its own source's weeks (the score
test of a share slope). Under no trend at all, a post's week does not depend on where its photo
sits in the space, so shuffling the weeks over the posts of each source gives the null
distribution of the largest score over the whole tree, however much its nested groups overlap (a
max-statistic permutation test: the chance of any false call in the whole scan is held at
`alpha`). A significant group with no significant group of the same direction inside it is a
region (a group is called for what moves, not for the flat groups it also holds); its share is
fitted with the same quasi-Poisson model as tags and styles (`clustering.trends.model.fit`) for
its slope and interval, and its adjusted p-value is the permutation's.

Above EXACT_LIMIT items the tree is built over k-means micro-clusters, as the styles' is: a
few seconds for 20,000 items, so an index build computes it once and the page only reads it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from clustering.trends.model import WEEK, Coverage, Trend, coverage, fit, parse_time, week_start
from store import Store
from stylescout.settings import ClusteringConfig

log = logging.getLogger(__name__)

PERMUTATIONS = 500
DIMS = 64
MIN_ITEMS = 12  # smaller groups are not scanned: they add tests, not power (measured 8-20)
MAX_SHARE = 0.25  # nor groups of more than this share of the items: that is the whole feed
EXACT_LIMIT = 4_000  # above: the tree is built over k-means micro-clusters
MICRO_CLUSTERS = 1_000


@dataclass(frozen=True)
class Region:
    """A group of items whose share of the week's posts rises (or falls)."""

    name: str
    direction: str  # "rising" or "falling"
    trend: Trend  # the group's share of the week's posts: slope, interval, adjusted p
    size: int
    examples: list[int]  # image ids nearest the group's centre
    members: list[int]  # image ids

    def to_json(self) -> dict:
        """A JSON-safe form, so a build can save its regions beside the index and a page read
        them without scanning again."""
        t = self.trend
        return {
            "name": self.name,
            "direction": self.direction,
            "size": self.size,
            "examples": self.examples,
            "members": self.members,
            "first_week": t.coverage.first.isoformat(),
            "last_week": t.coverage.last.isoformat(),
            "counts": t.counts.tolist(),
            "totals": t.totals.tolist(),
            "slope": t.slope,
            "low": t.low,
            "high": t.high,
            "p_value": t.p_value,
            "adjusted_p": t.adjusted_p,
        }

    @classmethod
    def from_json(cls, data: dict) -> Region:
        first = dt.date.fromisoformat(data["first_week"])
        last = dt.date.fromisoformat(data["last_week"])
        trend = Trend(
            data["name"],
            Coverage(first, last),
            np.array(data["counts"], dtype=float),
            np.array(data["totals"], dtype=float),
            slope=data["slope"],
            low=data["low"],
            high=data["high"],
            p_value=data["p_value"],
            adjusted_p=data["adjusted_p"],
            significant=True,
            of_share=True,
        )
        return cls(
            data["name"],
            data["direction"],
            trend,
            data["size"],
            list(data["examples"]),
            list(data["members"]),
        )


def find_regions(
    store: Store,
    ids: np.ndarray,
    vectors: np.ndarray,
    clustering: ClusteringConfig,
    alpha: float = 0.05,
    top: int = 6,
    examples: int = 4,
) -> list[Region]:
    """The regions of an index (its ids and vectors) whose share of the store's posts rises or
    falls, at most `top` of each, fastest rising first then fastest falling: what an index build
    computes once. `clustering` is the build's section (its linkage method and seed)."""
    tags = store.images.tags_by_image()
    times: dict[int, list[tuple[dt.datetime, str]]] = {}
    for image_id, source, stamp in store.images.source_post_times():
        when = parse_time(stamp)
        if when is not None:
            times.setdefault(int(image_id), []).append((when, source))
    every = [w for posts in times.values() for w, _ in posts]
    if not every:
        return []
    cover = coverage(every, min(every), max(every))  # whole weeks only: a part week is no share
    if cover is None:
        return []
    position = {w: n for n, w in enumerate(cover.weeks)}
    sources: dict[str, int] = {}
    post_weeks: list[list[int]] = []
    post_sources: list[list[int]] = []
    for i in ids:
        kept = [
            (position[d], s) for w, s in times.get(int(i), []) if (d := week_start(w)) in position
        ]
        post_weeks.append([week for week, _ in kept])
        post_sources.append([sources.setdefault(s, len(sources)) for _, s in kept])
    regions = regions_from_times(
        ids,
        vectors,
        post_weeks,
        post_sources=post_sources,
        first_week=cover.first,
        tags=[tags.get(int(i), []) for i in ids],
        alpha=alpha,
        examples=examples,
        method=clustering.method,
        seed=clustering.seed,
    )
    rising = [r for r in regions if r.direction == "rising"][:top]
    return rising + [r for r in regions if r.direction == "falling"][:top]


def regions_from_times(
    ids: np.ndarray,
    vectors: np.ndarray,
    post_weeks: Sequence[Sequence[int]],
    post_sources: Sequence[Sequence[int]] | None = None,
    first_week: dt.date | None = None,
    tags: Sequence[Sequence[str]] | None = None,
    alpha: float = 0.05,
    permutations: int = PERMUTATIONS,
    min_items: int = MIN_ITEMS,
    max_share: float = MAX_SHARE,
    dims: int = DIMS,
    examples: int = 4,
    method: str = "ward",
    seed: int = 0,
) -> list[Region]:
    """The scan on plain arrays: `post_weeks[i]` holds the week (0: the first whole week) of
    each post of item i, `post_sources[i]` the source of each (a number; None: one source).
    Weeks are compared and shuffled within a source only, so a site that reaches back less far
    does not make its own look seem to rise. Pure: the same input gives the same regions,
    fastest rising first."""
    from scipy import sparse

    from clustering.styles import reduce_dims

    n = len(ids)
    counts = np.array([len(w) for w in post_weeks], dtype=np.int64)
    if n < 4 * min_items or counts.sum() < 4 * min_items:
        return []
    owner = np.repeat(np.arange(n), counts)
    when = np.concatenate([np.asarray(w, dtype=np.int64) for w in post_weeks if len(w)])
    stratum = (
        np.concatenate([np.asarray(s, dtype=np.int64) for s in post_sources if len(s)])
        if post_sources is not None
        else np.zeros(len(when), dtype=np.int64)
    )
    n_weeks, total = int(when.max()) + 1, float(len(when))
    # each post against its own source's weeks: its expected week and that week's spread
    size = np.bincount(stratum).astype(float)
    mean_of = np.bincount(stratum, weights=when) / np.maximum(size, 1)
    var_of = np.bincount(stratum, weights=when**2) / np.maximum(size, 1) - mean_of**2
    expected, spread_of = mean_of[stratum], np.maximum(var_of, 0)[stratum]
    groups = [np.flatnonzero(stratum == s) for s in range(len(size)) if size[s] > 1]
    if n_weeks < 4 or spread_of.sum() == 0:
        return []
    x = reduce_dims(np.asarray(vectors, dtype=np.float32), dims)
    leaf_of, merges = _tree(x, method, seed)
    n_leaves = len(merges) + 1
    # every node's items and posts, leaves first, then one node per merge
    items = _node_sums(np.bincount(leaf_of, minlength=n_leaves)[:, None].astype(float), merges)
    posts = _node_sums(np.bincount(leaf_of[owner], minlength=n_leaves)[:, None] * 1.0, merges)
    items, posts = items[:, 0], posts[:, 0]
    scanned = (items >= min_items) & (items <= max_share * n) & (posts > 0)
    if not scanned.any():
        return []
    m = posts[scanned]
    post_leaf = sparse.csr_matrix(
        (np.ones(len(owner)), (leaf_of[owner], np.arange(len(owner)))),
        shape=(n_leaves, len(owner)),
    )
    centre = _node_sums(post_leaf @ expected[:, None], merges)[scanned, 0]
    # a group's posts drawn without replacement from all posts: the spread of their week sum
    variance = _node_sums(post_leaf @ spread_of[:, None], merges)[scanned, 0]
    spread = np.sqrt(np.maximum(variance * (total - m) / max(total - 1, 1), 1e-12))

    def scores(weeks_of_posts: np.ndarray) -> np.ndarray:
        """(scanned nodes, columns) scores for one column of post weeks per shuffle."""
        sums = _node_sums(post_leaf @ weeks_of_posts, merges)[scanned]
        return (sums - centre[:, None]) / spread[:, None]

    def shuffled() -> np.ndarray:
        out = when.astype(float)
        for group in groups:
            out[group] = out[rng.permutation(group)]
        return out

    z = scores(when[:, None].astype(float))[:, 0]
    rng = np.random.default_rng(seed)
    null_max = np.concatenate(
        [
            np.abs(scores(np.stack([shuffled() for _ in range(b)], 1))).max(0)
            for b in _batches(permutations, 50)
        ]
    )
    adjusted = (1 + (null_max[None, :] >= np.abs(z)[:, None]).sum(axis=1)) / (1 + permutations)
    log.debug(
        "region scan: %d items, |z| above %.2f is significant", n, np.quantile(null_max, 1 - alpha)
    )
    nodes = np.flatnonzero(scanned)
    called = np.zeros((len(items), 2), dtype=bool)  # per node: significant rising, falling
    called[nodes, 0] = (adjusted <= alpha) & (z > 0)
    called[nodes, 1] = (adjusted <= alpha) & (z < 0)
    below = _below(called, merges)  # a significant group of the same sign inside the node
    leaves_under = _leaves_under(merges, n_leaves)
    taken = np.zeros(n_leaves, dtype=bool)
    weekly_totals = np.bincount(when, minlength=n_weeks).astype(float)
    out: list[Region] = []
    for row in np.argsort(-np.abs(z), kind="stable"):
        if adjusted[row] > alpha:
            break
        if below[nodes[row], 0 if z[row] > 0 else 1]:
            continue  # a smaller group inside it moves the same way: that one is the region
        leaves = leaves_under(int(nodes[row]))
        if taken[leaves].any():
            continue  # overlaps a region already called (one rising inside one falling)
        taken[leaves] = True
        members = np.flatnonzero(np.isin(leaf_of, leaves))
        sign = 1 if z[row] > 0 else -1
        region_counts = np.bincount(when[np.isin(owner, members)], minlength=n_weeks) * 1.0
        trend = _share_trend(region_counts, weekly_totals, first_week)
        if np.sign(trend.slope) != sign:
            continue  # its own fit disagrees with the scan (a hump, not a slope): no call
        trend.adjusted_p, trend.significant = float(adjusted[row]), True
        middle = x[members].mean(axis=0)
        order = members[np.argsort(np.linalg.norm(x[members] - middle, axis=1), kind="stable")]
        out.append(
            Region(
                "",
                "rising" if sign > 0 else "falling",
                trend,
                len(members),
                [int(ids[i]) for i in order[:examples]],
                [int(ids[i]) for i in members],
            )
        )
    out.sort(key=lambda r: -r.trend.slope)
    return _named(out, ids, tags)


def _batches(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def _tree(x: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's leaf and the linkage's merges (pairs of node numbers: leaves first): items
    are the leaves up to EXACT_LIMIT, k-means micro-clusters above, as the styles' tree."""
    from scipy.cluster import hierarchy

    from clustering.styles import _micro_clusters

    if len(x) <= EXACT_LIMIT:
        leaf_of, points = np.arange(len(x)), x.astype(np.float64)
    else:
        centroids, assign = _micro_clusters(x, MICRO_CLUSTERS, seed)
        used, leaf_of = np.unique(assign, return_inverse=True)
        points = centroids[used]
    if len(points) < 2:
        return leaf_of, np.zeros((0, 2), dtype=np.int64)
    linkage = hierarchy.linkage(points, method=method)
    return leaf_of, linkage[:, :2].astype(np.int64)


def _node_sums(leaf_values: np.ndarray, merges: np.ndarray) -> np.ndarray:
    """Sums over every node's leaves (rows: leaves, then merges in order)."""
    out = np.empty((len(leaf_values) + len(merges), leaf_values.shape[1]))
    out[: len(leaf_values)] = leaf_values
    for j, (a, b) in enumerate(merges, start=len(leaf_values)):
        out[j] = out[a] + out[b]
    return out


def _below(called: np.ndarray, merges: np.ndarray) -> np.ndarray:
    """Per node and column: is some node strictly below it `called`?"""
    out = np.zeros_like(called)
    n_leaves = len(merges) + 1
    for j, (a, b) in enumerate(merges, start=n_leaves):
        out[j] = out[a] | out[b] | called[a] | called[b]
    return out


def _leaves_under(merges: np.ndarray, n_leaves: int):
    """A function from a node to the leaves below it."""

    def leaves(node: int) -> np.ndarray:
        stack, found = [node], []
        while stack:
            k = stack.pop()
            if k < n_leaves:
                found.append(k)
            else:
                stack.extend(int(c) for c in merges[k - n_leaves])
        return np.array(found, dtype=np.int64)

    return leaves


def _share_trend(counts: np.ndarray, totals: np.ndarray, first: dt.date | None) -> Trend:
    first = first or dt.date(2000, 1, 3)
    cover = Coverage(first, first + (len(counts) - 1) * WEEK)
    return fit(Trend("", cover, counts, totals, of_share=True))


def _named(
    regions: list[Region], ids: np.ndarray, tags: Sequence[Sequence[str]] | None
) -> list[Region]:
    """Names from the regions' distinctive tags where captions tell them apart, else 'look N'."""
    from clustering.styles import name_styles

    if not regions:
        return regions
    names = [f"look {n + 1}" for n in range(len(regions))]
    if tags is not None:
        row = {int(i): n for n, i in enumerate(ids)}
        labels = np.full(len(ids), len(regions), dtype=np.int64)  # the rest: one group more
        for r, region in enumerate(regions):
            labels[[row[i] for i in region.members]] = r
        by_tags = name_styles(labels, tags)[: len(regions)]
        names = [
            fallback if tagged.startswith("style ") else tagged
            for tagged, fallback in zip(by_tags, names, strict=True)
        ]
    out = []
    for region, name in zip(regions, names, strict=True):
        region.trend.name = name
        out.append(replace(region, name=name))
    return out
