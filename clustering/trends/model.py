"""Which tags (or styles) rise and fall, with numbers an analyst can trust.

A scrape of a tag's N newest posts covers a different stretch of time for each tag: a tag that
posts often reaches back only a few weeks, and counting its weeks naively makes it look as if it
rose from nothing. So each series uses only the weeks its posts fully cover: from the first
whole week after its oldest stored post (the whole feed's first week when the scrape reached the
start) to the last whole week of the store. The weekly counts are fitted with a Poisson
regression on the week (quasi-Poisson: its standard errors are scaled by the overdispersion, never
below Poisson), and
a series is called rising or falling only when the slope's confidence interval, after a Holm
correction over every series compared, leaves out zero. The same model gives a short forecast
with its interval.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from store import Store
from stylescout.settings import ClusteringConfig

WEEK = dt.timedelta(weeks=1)
MIN_WEEKS = 4  # fewer covered weeks cannot say anything about a slope


def week_start(when: dt.datetime) -> dt.date:
    """The Monday of the week (UTC) that `when` falls in."""
    day = when.astimezone(dt.UTC).date() if when.tzinfo else when.date()
    return day - dt.timedelta(days=day.weekday())


def parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Coverage:
    """The whole weeks a series covers, first to last (Mondays)."""

    first: dt.date
    last: dt.date

    @property
    def weeks(self) -> list[dt.date]:
        n = (self.last - self.first).days // 7 + 1
        return [self.first + i * WEEK for i in range(max(0, n))]

    def __str__(self) -> str:
        end = self.last + dt.timedelta(days=6)
        return f"{self.first:%d %b %Y} to {end:%d %b %Y} ({len(self.weeks)} weeks)"


def coverage(
    times: Sequence[dt.datetime], store_first: dt.datetime, store_last: dt.datetime
) -> Coverage | None:
    """The weeks a series' posts fully cover (see the module's docstring), or None."""
    if not times:
        return None
    oldest = min(times)
    first = week_start(oldest)
    if first > week_start(store_first):  # the scrape stopped inside this week: not whole
        first += WEEK
    last = week_start(store_last)
    if store_last.astimezone(dt.UTC).weekday() != 6:  # the newest week is not over yet
        last -= WEEK
    return Coverage(first, last) if last >= first else None


@dataclass(frozen=True)
class Forecast:
    week: dt.date
    mean: float
    low: float
    high: float


@dataclass
class Trend:
    """One series: posts per covered week and what the count model says of them."""

    name: str
    coverage: Coverage
    counts: np.ndarray
    totals: np.ndarray  # every post of the store in those weeks (for shares)
    slope: float = 0.0  # change of log(posts per week) per week
    low: float = 0.0
    high: float = 0.0
    p_value: float = 1.0
    adjusted_p: float = 1.0
    significant: bool = False
    forecast: list[Forecast] = field(default_factory=list)
    of_share: bool = False  # the slope is of the share of `totals`, not of the counts
    positions: np.ndarray | None = None  # weeks since the first, where not every week is kept

    @property
    def weekly_change(self) -> float:
        """Posts per week change by this fraction every week (+0.05: 5 % more each week)."""
        return math.exp(self.slope) - 1

    @property
    def interval(self) -> tuple[float, float]:
        return math.exp(self.low) - 1, math.exp(self.high) - 1

    @property
    def direction(self) -> str:
        if not self.significant:
            return "flat"
        return "rising" if self.slope > 0 else "falling"

    @property
    def shares(self) -> np.ndarray:
        return np.divide(
            self.counts, self.totals, out=np.zeros(len(self.counts)), where=self.totals > 0
        )

    def describe(self) -> str:
        low, high = self.interval
        what = "share" if self.of_share else "posts"
        return (
            f"{self.name}: {what} {self.weekly_change:+.1%} a week (95% CI {low:+.1%} to "
            f"{high:+.1%}), "
            f"{self.direction}, {int(self.counts.sum())} posts, {self.coverage}"
        )


def fit(trend: Trend, horizon: int = 4, level: float = 0.95) -> Trend:
    """The quasi-Poisson slope of weekly counts with its interval and p-value, and a forecast of
    the next `horizon` weeks (the model's mean rate with its interval)."""
    import statsmodels.api as sm

    t = (
        trend.positions
        if trend.positions is not None
        else np.arange(len(trend.counts), dtype=float)
    )
    if trend.counts.sum() == 0 or len(t) < 3:
        return trend  # nothing to fit: flat, p = 1
    X = sm.add_constant(t)
    offset = np.log(np.maximum(trend.totals, 1)) if trend.of_share else None
    try:
        glm = sm.GLM(trend.counts, X, family=sm.families.Poisson(), offset=offset)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all but one week empty
            # quasi-Poisson: the scale is the Pearson chi-square per degree of freedom, but never
            # below 1: a dozen weeks that happen to scatter less than Poisson are not more
            # certain (left free, flat series were called in 9 of 30 simulated 20-tag worlds;
            # at least 1, in none)
            model = glm.fit(scale="X2")
            if model.scale < 1:
                model = glm.fit(scale=1.0)
    except (ValueError, np.linalg.LinAlgError):  # e.g. a single non-zero week
        return trend
    if not np.all(np.isfinite(model.params)) or not np.isfinite(model.bse[1]):
        return trend
    alpha = 1 - level
    (_, slope), (low, high) = model.params, model.conf_int(alpha)[1]
    trend.slope, trend.low, trend.high = float(slope), float(low), float(high)
    trend.p_value = float(model.pvalues[1]) if np.isfinite(model.pvalues[1]) else 1.0
    if trend.of_share:  # a share has no forecast of posts
        return trend
    future = np.arange(len(t), len(t) + horizon, dtype=float)
    frame = model.get_prediction(sm.add_constant(future, has_constant="add")).summary_frame(alpha)
    last = trend.coverage.last
    trend.forecast = [
        Forecast(
            last + (i + 1) * WEEK,
            float(row["mean"]),
            float(row["mean_ci_lower"]),
            float(row["mean_ci_upper"]),
        )
        for i, (_, row) in enumerate(frame.iterrows())
    ]
    return trend


def judge(trends: list[Trend], alpha: float = 0.05) -> list[Trend]:
    """Holm's correction over the series compared; each is significant or not at `alpha`."""
    from statsmodels.stats.multitest import multipletests

    if not trends:
        return trends
    reject, adjusted, _, _ = multipletests([t.p_value for t in trends], alpha, method="holm")
    for trend, ok, p in zip(trends, reject, adjusted, strict=True):
        trend.significant, trend.adjusted_p = bool(ok), float(p)
    return trends


def series(named_times: dict[str, list[dt.datetime]], all_times: list[dt.datetime]) -> list[Trend]:
    """One Trend per name over its covered weeks (names with too few weeks are left out)."""
    if not all_times:
        return []
    first, last = min(all_times), max(all_times)
    totals = Counter(week_start(t) for t in all_times)
    out = []
    for name, times in named_times.items():
        cover = coverage(times, first, last)
        if cover is None or len(cover.weeks) < MIN_WEEKS:
            continue
        counts = Counter(week_start(t) for t in times)
        weeks = cover.weeks
        out.append(
            Trend(
                name,
                cover,
                np.array([counts.get(w, 0) for w in weeks], dtype=float),
                np.array([totals.get(w, 0) for w in weeks], dtype=float),
            )
        )
    return out


WINDOWS = (12, 26, 52)  # the windows a view offers, in weeks (else every week)


def window_start(stamps: Iterable[str], weeks: int | None) -> str | None:
    """The first day (ISO) of a window of the last `weeks` weeks before the newest of these
    post times (None: every week). Post times compare as text: the store writes them all as
    UTC ISO 8601."""
    if not weeks:
        return None
    newest = max((s for s in stamps if s), default=None)
    when = parse_time(newest) if newest else None
    return None if when is None else (week_start(when) - weeks * WEEK).isoformat()


def tag_trends(
    store: Store,
    tags: Iterable[str] | None = None,
    top: int = 12,
    alpha: float = 0.05,
    since: str | None = None,
) -> list[Trend]:
    """Trends of hashtags (each post counts for every tag of its image, reposts included),
    fastest rising first. `tags` default to the store's `top` most used; `since` (an ISO day,
    `window_start`) leaves out older posts."""
    names = list(tags) if tags is not None else [t for t, _ in store.images.tag_counts()[:top]]
    start = since or ""
    all_times = [w for _, s in store.images.post_times() if s >= start and (w := parse_time(s))]
    named = {
        name: [w for _, s in store.images.post_times(name) if s >= start and (w := parse_time(s))]
        for name in names
    }
    trends = [fit(t) for t in series(named, all_times)]
    return sorted(judge(trends, alpha), key=lambda t: -t.slope)


def share_trends(
    names: Sequence[str],
    weeks: Sequence[dt.date],
    counts: np.ndarray,
    alpha: float = 0.05,
) -> list[Trend]:
    """Each column's share of the week's posts (`counts`: weeks x columns, e.g. styles) as a
    quasi-Poisson slope with the week's total as exposure, judged with Holm over the columns;
    fastest rising first. Weeks need not be consecutive."""
    if len(weeks) < 3:
        return []
    totals = counts.sum(axis=1).astype(float)
    positions = np.array([(w - weeks[0]).days / 7 for w in weeks], dtype=float)
    cover = Coverage(weeks[0], weeks[-1])
    trends = [
        fit(
            Trend(
                name,
                cover,
                counts[:, i].astype(float),
                totals,
                of_share=True,
                positions=positions,
            )
        )
        for i, name in enumerate(names)
        if counts[:, i].sum() > 0
    ]
    return sorted(judge(trends, alpha), key=lambda t: -t.slope)


@dataclass(frozen=True)
class EmergingLook:
    """A micro-style (finer than the styles shown) whose share rises significantly."""

    name: str
    trend: Trend
    examples: list[int]  # image ids nearest its centre
    size: int


def weekly_style_counts(
    posts: Iterable[tuple[int, str, str]], ids: np.ndarray, labels: np.ndarray, k: int
) -> tuple[list[dt.date], np.ndarray]:
    """Posts per week (weeks with posts, oldest first) and label, from (image id, source, time)
    rows such as `Store.source_post_times`."""
    label_of = dict(zip(ids.tolist(), labels.tolist(), strict=True))
    rows: dict[dt.date, np.ndarray] = {}
    for image_id, _source, stamp in posts:
        when = parse_time(stamp)
        if when is None or image_id not in label_of:
            continue
        row = rows.setdefault(week_start(when), np.zeros(k, dtype=float))
        row[label_of[image_id]] += 1
    weeks = sorted(rows)
    return weeks, (np.array([rows[w] for w in weeks]) if weeks else np.zeros((0, k)))


def emerging_looks(
    store: Store,
    ids: np.ndarray,
    vectors: np.ndarray,
    clustering: ClusteringConfig,
    micro_styles: int = 48,
    top: int = 3,
    examples: int = 4,
) -> list[EmergingLook]:
    """The fastest significantly rising micro-styles: the items cut into about `micro_styles`
    groups (the same hierarchical clustering, cut lower, nothing merged), each group's share of
    the week's posts judged like the styles' (quasi-Poisson, Holm over the groups)."""
    from clustering.styles import cluster_styles, name_styles, representatives

    if len(ids) < 4 * micro_styles // 2:
        return []
    cfg = clustering.model_copy(
        update={
            "n_styles": micro_styles,
            "distance_threshold": None,
            "merge_threshold": 0.0,
            "min_size": max(3, len(ids) // (micro_styles * 4)),
        }
    )
    micro = cluster_styles(vectors, cfg)
    k = int(micro.labels.max()) + 1
    tags = store.images.tags_by_image()
    names = _unique(name_styles(micro.labels, [tags.get(int(i), []) for i in ids], top=3))
    weeks, counts = weekly_style_counts(store.images.source_post_times(), ids, micro.labels, k)
    rising = [t for t in share_trends(names, weeks, counts) if t.direction == "rising"][:top]
    near = representatives(vectors, micro, ids, examples)
    index_of = {name: i for i, name in enumerate(names)}
    return [
        EmergingLook(
            t.name, t, near[index_of[t.name]], int((micro.labels == index_of[t.name]).sum())
        )
        for t in rising
    ]


def saved_looks(looks: Sequence[EmergingLook]) -> list[dict]:
    """The looks as JSON-ready rows, kept with the index they were worked out on."""
    return [
        {
            "name": look.name,
            "size": look.size,
            "examples": [int(i) for i in look.examples],
            "direction": look.trend.direction,
            "weekly_change": look.trend.weekly_change,
            "low": look.trend.interval[0],
            "high": look.trend.interval[1],
            "adjusted_p": look.trend.adjusted_p,
        }
        for look in looks
    ]


def _unique(names: list[str]) -> list[str]:
    """Names made distinct: a second 'boho · hat' becomes 'boho · hat (2)'."""
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
