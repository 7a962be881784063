"""Interest as trend tools show it: a tag's weekly posts as a share of all posts of that site and
week, scaled 0-100 of the series' peak (Google Trends' index), and a rising list comparing the
last 3 weeks with the 3 before (Pinterest Trends' window) with a test that says whether the
change is more than chance.

Why shares, not counts: a store holds what was scraped, and a week in which more was scraped
(another tag, another site) would make every tag look busier. Dividing by every post of that
source and week, over the weeks the tag's own scrapes wholly cover (`model.coverage`), leaves
what the tag's part of the conversation did.

The change test: the tag's posts in the two windows are two Poisson rates with the windows' posts
of every tag as exposure (statsmodels' `test_poisson_2indep`, score test). Weekly counts scatter
more than Poisson, so the counts are first divided by the tag's overdispersion (the Pearson
chi-square per degree of freedom of its quasi-Poisson trend over all its covered weeks, at least
1): the quasi-likelihood correction. The p-values are Holm-corrected over the tags compared.

Labels follow from the count model, not from thresholds on raw counts: `rising` / `falling` when
the quasi-Poisson slope of the tag's share over all its covered weeks (`model.fit`, the same model
the page's other calls use) leaves out zero after Holm over the tags compared; `new` when the tag
had no post in the 3 weeks before and its rise now is significant; else `steady`. A `breakout` is
a significant rise to more than 10 times the share of the 3 weeks before, or from none (Google
Trends marks a breakout at over +5,000%; with the weekly posts of a scraped store, 10 times from
near nothing is the same kind of jump).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from clustering.trends.model import Coverage, coverage, parse_time, week_start

WINDOW = 3  # weeks in each of the two windows compared
BREAKOUT = 10.0  # a significant rise to more than this many times the earlier share
RISING_TOP = 20  # tags in a rising list when none are named: the most used
ALPHA = 0.05
LABELS = ("rising", "falling", "steady", "new")

SourcePost = tuple[int, str, str]  # (image id, source, time): Store.source_post_times rows


@dataclass(frozen=True)
class Interest:
    """One tag's weekly posts on one source (or every source: `source` None) over the weeks its
    scrapes wholly cover, with every post of that source and week as the denominator."""

    name: str
    source: str | None
    coverage: Coverage
    counts: np.ndarray  # the tag's posts per covered week
    totals: np.ndarray  # every post of that source (or of all) in those weeks

    @property
    def weeks(self) -> list[dt.date]:
        return self.coverage.weeks

    @property
    def shares(self) -> np.ndarray:
        return np.divide(
            self.counts, self.totals, out=np.zeros(len(self.counts)), where=self.totals > 0
        )

    @property
    def index(self) -> np.ndarray:
        """0-100 of the series' own peak share (all zeros when it never posted)."""
        shares = self.shares
        peak = float(shares.max()) if len(shares) else 0.0
        return np.round(100 * shares / peak) if peak > 0 else np.zeros(len(shares))


@dataclass(frozen=True)
class Change:
    """The last WINDOW weeks against the WINDOW before, for one series: a rising-list row."""

    name: str
    source: str | None
    recent: int  # the tag's posts in the last window
    before: int  # in the window before
    ratio: float  # share now over share before (inf when there was none before)
    low: float  # 95% interval of the ratio (nan where it cannot be said)
    high: float
    p_value: float
    adjusted_p: float
    label: str  # one of LABELS
    breakout: bool
    interest: float  # the index (0-100) averaged over the last window
    dispersion: float
    weekly_change: float = 0.0  # the count model's change of share a week over all weeks
    trend_p: float = 1.0  # its p-value, Holm-corrected over the series compared

    @property
    def change(self) -> float:
        """Share now against before, as a fraction (+1.0: doubled)."""
        return self.ratio - 1

    def growth(self, short: bool = False) -> str:
        """The change in words: "+33% against the 3 weeks before" (`short`: "+33% (+5% to
        +70%)"), or what stands for it where there is no ratio."""
        if self.label == "new":
            return "new" if short else "new (none in the 3 weeks before)"
        if math.isnan(self.ratio):
            return "no posts" if short else "no post in the last 6 weeks"
        if math.isinf(self.ratio):
            return "from none" if short else "from none in the 3 weeks before"
        if not short:
            return f"{self.change:+.0%} against the 3 weeks before"
        low, high = self.low - 1, self.high - 1
        band = f" ({low:+.0%} to {high:+.0%})" if math.isfinite(low + high) else ""
        return f"{self.change:+.0%}{band}"

    def describe(self) -> str:
        where = f" on {self.source}" if self.source else ""
        growth = self.growth()
        mark = ", breakout" if self.breakout else ""
        return (
            f"#{self.name}{where}: {self.label}{mark}, {growth}, p {self.adjusted_p:.2g} (Holm), "
            f"interest {self.interest:.0f}/100"
        )


def _whole_weeks(
    times: Sequence[dt.datetime], everything: Sequence[dt.datetime]
) -> Coverage | None:
    return coverage(times, min(everything), max(everything)) if everything else None


def interest_of(
    posts: Iterable[SourcePost],
    tags_of: dict[int, list[str]],
    names: Sequence[str],
    source: str | None = None,
    since: str | None = None,
) -> dict[str, Interest]:
    """Each named tag's interest on `source` (None: every source together), from post rows and
    each image's tags, from `since` on (an ISO day; None: every week); tags with no whole week
    are left out. Insertion order follows `names`."""
    wanted = set(names)
    every: list[dt.datetime] = []
    by_tag: dict[str, list[dt.datetime]] = defaultdict(list)
    start = since or ""
    for image_id, site, stamp in posts:
        if (source is not None and site != source) or stamp < start:
            continue
        when = parse_time(stamp)
        if when is None:
            continue
        every.append(when)
        for tag in tags_of.get(image_id, ()):
            if tag in wanted:
                by_tag[tag].append(when)
    if not every:
        return {}
    totals_by_week: dict[dt.date, int] = defaultdict(int)
    for when in every:
        totals_by_week[week_start(when)] += 1
    out: dict[str, Interest] = {}
    for name in names:
        times = by_tag.get(name)
        cover = _whole_weeks(times, every) if times else None
        if cover is None:
            continue
        weeks = cover.weeks
        counts = defaultdict(int)
        for when in times:
            counts[week_start(when)] += 1
        out[name] = Interest(
            name,
            source,
            cover,
            np.array([counts.get(w, 0) for w in weeks], dtype=float),
            np.array([totals_by_week.get(w, 0) for w in weeks], dtype=float),
        )
    return out


def dispersion(series: Interest) -> float:
    """The Pearson chi-square per degree of freedom of the series' quasi-Poisson trend of its
    share (at least 1; 1 when there are too few weeks to say)."""
    import statsmodels.api as sm

    keep = series.totals > 0
    counts, totals = series.counts[keep], series.totals[keep]
    if len(counts) < 4 or counts.sum() == 0:
        return 1.0
    X = sm.add_constant(np.arange(len(counts), dtype=float))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = sm.GLM(counts, X, family=sm.families.Poisson(), offset=np.log(totals)).fit()
    except (ValueError, np.linalg.LinAlgError):
        return 1.0
    phi = float(fitted.pearson_chi2 / max(1, fitted.df_resid))
    return phi if math.isfinite(phi) and phi > 1 else 1.0


def _compare(series: Interest) -> tuple[Change, float] | None:
    """The unadjusted change of one series (its p-value second), None when it has fewer than
    two windows of weeks. With no post in either window (or no post at all in one), the change
    says nothing (p 1, ratio nan or inf) and the label comes from the slope alone."""
    from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

    if len(series.counts) < 2 * WINDOW:
        return None
    recent_n, before_n = series.counts[-WINDOW:].sum(), series.counts[-2 * WINDOW : -WINDOW].sum()
    recent_t, before_t = series.totals[-WINDOW:].sum(), series.totals[-2 * WINDOW : -WINDOW].sum()
    phi = dispersion(series)
    p, low, high = 1.0, math.nan, math.nan
    if recent_n + before_n == 0 or recent_t == 0 or before_t == 0:  # nothing to compare
        ratio = math.nan if recent_n == 0 or recent_t == 0 else math.inf
    else:
        args = (recent_n / phi, recent_t / phi, before_n / phi, before_t / phi)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            found = float(test_poisson_2indep(*args, method="score").pvalue)
            if before_n > 0 and recent_n > 0:
                low, high = (float(v) for v in confint_poisson_2indep(*args, method="score"))
        p = found if math.isfinite(found) else 1.0
        ratio = (recent_n / recent_t) / (before_n / before_t) if before_n > 0 else math.inf
    index = series.index[-WINDOW:]
    change = Change(
        series.name,
        series.source,
        int(recent_n),
        int(before_n),
        float(ratio),
        low,
        high,
        p,
        1.0,
        "steady",
        False,
        float(index.mean()) if len(index) else 0.0,
        phi,
    )
    return change, change.p_value


RISING_KEPT = 32  # rising lists remembered per process (pages, exports, windows, sources)
_rising: OrderedDict[tuple, list[Change]] = OrderedDict()
_rising_lock = threading.Lock()


def _series_key(series: Interest) -> tuple:
    """Everything a series' row of the rising list depends on."""
    return (
        series.name,
        series.source,
        series.coverage,
        series.counts.dtype.str,
        series.counts.tobytes(),
        series.totals.dtype.str,
        series.totals.tobytes(),
    )


def rising_list(series: Iterable[Interest], alpha: float = ALPHA) -> list[Change]:
    """The rising list: each series' last 3 weeks against the 3 before (Holm over the series
    compared) and its label from the count model (see the module's docstring); new and rising
    first, biggest rises first, falling last.

    Remembered by the series' counts: statsmodels' intervals (found by Nelder-Mead) and the slope
    fits take about 0.6 s for 20 tags, and every Trends page view and rising-list export would
    otherwise pay it again for counts that have not changed since the last scrape."""
    series = list(series)
    key = (alpha, tuple(_series_key(s) for s in series))
    with _rising_lock:
        if key in _rising:
            _rising.move_to_end(key)
            return list(_rising[key])
    found = _rising_list(series, alpha)
    with _rising_lock:
        _rising[key] = found
        while len(_rising) > RISING_KEPT:
            _rising.popitem(last=False)
    return list(found)


def _rising_list(series: list[Interest], alpha: float) -> list[Change]:
    """`rising_list`, worked out."""
    from statsmodels.stats.multitest import multipletests

    from clustering.trends.model import Trend, fit, judge

    found = [(s, c) for s in series if (c := _compare(s)) is not None]
    if not found:
        return []
    _, adjusted, _, _ = multipletests([p for _, (_, p) in found], alpha, method="holm")
    slopes = judge(
        [fit(Trend(s.name, s.coverage, s.counts, s.totals, of_share=True)) for s, _ in found],
        alpha,
    )
    out = []
    for (_, (change, _)), p, slope in zip(found, adjusted, slopes, strict=True):
        jumped = bool(p < alpha and change.ratio > 1)
        if jumped and change.before == 0:
            label = "new"
        elif slope.significant:
            label = slope.direction
        else:
            label = "steady"
        breakout = jumped and change.ratio > BREAKOUT and label != "falling"
        out.append(
            replace(
                change,
                adjusted_p=float(p),
                label=label,
                breakout=breakout,
                weekly_change=slope.weekly_change,
                trend_p=slope.adjusted_p,
            )
        )
    order = {"new": 0, "rising": 1, "steady": 2, "falling": 3}
    return sorted(out, key=lambda c: (order[c.label], -_rank(c.ratio), c.name))


def _rank(ratio: float) -> float:
    """A ratio to sort by: none before ranks above any rise, no post at all with no change."""
    return 1.0 if math.isnan(ratio) else ratio


@dataclass(frozen=True)
class SourceSideBySide:
    """One tag's interest on each site, each within its own site, and where they disagree."""

    tag: str
    by_source: dict[str, Interest]
    changes: list[Change]  # Holm over the sources

    @property
    def disagreement(self) -> str | None:
        """A sentence where the sites' calls differ, else None."""
        rising = sorted(c.source or "" for c in self.changes if c.label in ("rising", "new"))
        falling = sorted(c.source or "" for c in self.changes if c.label == "falling")
        steady = sorted(c.source or "" for c in self.changes if c.label == "steady")
        if rising and falling:
            return (
                f"Sites disagree on #{self.tag}: rising on {', '.join(rising)}, falling on "
                f"{', '.join(falling)}."
            )
        called = rising or falling
        if called and steady:
            way = "rising" if rising else "falling"
            return (
                f"Sites disagree on #{self.tag}: {way} on {', '.join(called)} only; steady on "
                f"{', '.join(steady)}."
            )
        return None


def side_by_side(
    posts: Sequence[SourcePost], tags_of: dict[int, list[str]], tag: str
) -> SourceSideBySide:
    """`tag`'s interest on every source that has it, most posts first."""
    sources = sorted({s for _, s, _ in posts})
    found = {
        source: series
        for source in sources
        if (series := interest_of(posts, tags_of, [tag], source).get(tag)) is not None
    }
    found = dict(sorted(found.items(), key=lambda kv: (-kv[1].counts.sum(), kv[0])))
    return SourceSideBySide(tag, found, rising_list(found.values()))
