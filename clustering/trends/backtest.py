"""How good the weekly forecasts are, measured on weeks already seen (rolling-origin backtest).

Every series (a tag's or a style's weekly posts) is cut at each week from `min_train` on: the
weeks before are the history, the next 1-`horizon` weeks are forecast by each method and compared
with what came. Scored as the forecasting literature scores fashion series:

- **MASE**: mean absolute error over the mean absolute error of the one-week naive forecast
  (this week = last week) on the series itself; below 1 beats guessing last week's number.
- **coverage**: the share of held-back weeks inside the method's 95% prediction interval (a
  well-calibrated interval holds about 95%).
- **direction**: the share of forecasts that got the direction right against the last week seen:
  up, flat (within ±5%) or down.

Methods: `model` (the Trends page's quasi-Poisson log-linear trend, with a prediction interval
that adds the counts' own scatter to the uncertainty of the rate), and the baselines `naive`
(last week), `mean` (the history's mean), `drift` (the line from the first week to the last) and
`ets` (statsmodels' exponential smoothing, additive errors).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from clustering.index import StyleIndex
from clustering.trends.model import (
    WEEK,
    Coverage,
    Forecast,
    Trend,
    coverage,
    parse_time,
    week_start,
)
from store import Store

METHODS = ("model", "naive", "mean", "drift", "ets")
Z95 = 1.959963984540054
FLAT = 0.05  # a change within ±5% is flat


@dataclass(frozen=True)
class Prediction:
    """A forecast of the next weeks: means and 95% prediction intervals, one per week."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _interval(mean: np.ndarray, sd: np.ndarray) -> Prediction:
    mean = np.maximum(mean, 0.0)
    return Prediction(mean, np.maximum(mean - Z95 * sd, 0.0), mean + Z95 * sd)


def naive(history: np.ndarray, horizon: int) -> Prediction:
    steps = np.arange(1, horizon + 1)
    sigma = float(np.std(np.diff(history), ddof=1)) if len(history) > 2 else 0.0
    return _interval(np.full(horizon, history[-1]), sigma * np.sqrt(steps))


def mean(history: np.ndarray, horizon: int) -> Prediction:
    sigma = float(np.std(history, ddof=1)) if len(history) > 1 else 0.0
    return _interval(
        np.full(horizon, history.mean()), np.full(horizon, sigma) * math.sqrt(1 + 1 / len(history))
    )


def drift(history: np.ndarray, horizon: int) -> Prediction:
    n, steps = len(history), np.arange(1, horizon + 1)
    slope = (history[-1] - history[0]) / (n - 1) if n > 1 else 0.0
    resid = np.diff(history) - slope
    sigma = float(np.std(resid, ddof=1)) if n > 2 else 0.0
    sd = sigma * np.sqrt(steps * (1 + steps / max(n - 1, 1)))
    return _interval(history[-1] + slope * steps, sd)


def ets(history: np.ndarray, horizon: int) -> Prediction:
    """Simple exponential smoothing with additive errors (statsmodels' ETSModel), its own
    prediction intervals; the naive forecast where it cannot be fitted."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    if len(history) < 4 or np.ptp(history) == 0:
        return naive(history, horizon)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short series
            series = pd.Series(history.astype(float))  # its prediction frame needs an index
            fitted = ETSModel(series, error="add", trend=None).fit(disp=False)
            frame = fitted.get_prediction(len(history), len(history) + horizon - 1).summary_frame(
                alpha=0.05
            )
    except (ValueError, np.linalg.LinAlgError):
        return naive(history, horizon)
    mean_ = frame["mean"].to_numpy()
    low, high = frame["pi_lower"].to_numpy(), frame["pi_upper"].to_numpy()
    if not (np.all(np.isfinite(mean_)) and np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        return naive(history, horizon)
    return Prediction(np.maximum(mean_, 0.0), np.maximum(low, 0.0), np.maximum(high, 0.0))


def model(history: np.ndarray, horizon: int) -> Prediction:
    """The Trends page's model: a quasi-Poisson GLM of the counts on the week. The interval of a
    week's count adds the counts' scatter (dispersion × mean) to the rate's own uncertainty."""
    import statsmodels.api as sm

    if history.sum() == 0 or len(history) < 3:
        return naive(history, horizon)
    t = np.arange(len(history), dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = sm.GLM(history, sm.add_constant(t), family=sm.families.Poisson()).fit(
                scale="X2"
            )
            future = np.arange(len(history), len(history) + horizon, dtype=float)
            frame = fitted.get_prediction(
                sm.add_constant(future, has_constant="add")
            ).summary_frame(0.05)
    except (ValueError, np.linalg.LinAlgError):
        return naive(history, horizon)
    mu = frame["mean"].to_numpy()
    rate_sd = (frame["mean_ci_upper"].to_numpy() - frame["mean_ci_lower"].to_numpy()) / (2 * Z95)
    scatter = max(float(fitted.scale), 1.0) * mu
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(rate_sd))):
        return naive(history, horizon)
    return _interval(mu, np.sqrt(scatter + rate_sd**2))


FORECASTERS: dict[str, Callable[[np.ndarray, int], Prediction]] = {
    "model": model,
    "naive": naive,
    "mean": mean,
    "drift": drift,
    "ets": ets,
}


def _direction(before: float, after: float) -> int:
    """-1 down, 0 flat (within ±5%), 1 up."""
    if before <= 0:
        return 1 if after > 0 else 0
    change = after / before - 1
    return 0 if abs(change) <= FLAT else (1 if change > 0 else -1)


@dataclass
class Score:
    """One method at one horizon over many series and origins."""

    method: str
    horizon: int
    errors: list[float] = field(default_factory=list)  # |error| / the series' naive MAE
    inside: int = 0
    right: int = 0
    forecasts: int = 0

    @property
    def mase(self) -> float:
        return float(np.mean(self.errors)) if self.errors else math.nan

    @property
    def coverage(self) -> float:
        return self.inside / self.forecasts if self.forecasts else math.nan

    @property
    def direction(self) -> float:
        return self.right / self.forecasts if self.forecasts else math.nan

    def as_dict(self) -> dict:
        return {
            "method": self.method,
            "horizon": self.horizon,
            "mase": self.mase,
            "coverage": self.coverage,
            "direction": self.direction,
            "forecasts": self.forecasts,
        }


@dataclass(frozen=True)
class Backtest:
    """Scores per (method, horizon), the series scored and those too short to score."""

    scores: dict[tuple[str, int], Score]
    series: int
    too_short: int
    min_train: int
    horizon: int
    # the same scores by the length of the series scored: (length bucket, method, horizon)
    by_length: dict[tuple[str, str, int], Score] = field(default_factory=dict)
    series_by_length: dict[str, int] = field(default_factory=dict)

    def best(self, horizon: int) -> str:
        """The method with the lowest MASE at `horizon`."""
        at = [s for (m, h), s in self.scores.items() if h == horizon and s.errors]
        return min(at, key=lambda s: s.mase).method if at else "naive"

    def best_for(self, length: int, horizon: int) -> tuple[str, Score, str, int]:
        """The method for a series `length` weeks long: the best on the series of its length
        bucket where those made MIN_BUCKET_FORECASTS forecasts or more, else the best over every
        series. Returns (method, its score, the lengths it was judged on, and how many series
        of those lengths were scored)."""
        bucket = length_bucket(length)
        at = [
            s
            for (b, _, h), s in self.by_length.items()
            if b == bucket and h == horizon and s.forecasts >= MIN_BUCKET_FORECASTS
        ]
        if at:
            chosen = min(at, key=lambda s: s.mase)
            return chosen.method, chosen, f"series {bucket} long", self.series_by_length[bucket]
        method = self.best(horizon)
        return method, self.scores[(method, horizon)], "series of every length", self.series

    def rows(self) -> list[dict]:
        return [s.as_dict() for s in self.scores.values()]


def backtest(
    counts: Iterable[np.ndarray],
    horizon: int = 4,
    min_train: int = 6,
    methods: Iterable[str] = METHODS,
) -> Backtest:
    """Every method on every series, from each origin with at least `min_train` weeks behind it.
    A series shorter than `min_train` + 1 weeks, or with no week-to-week change (nothing to scale
    the errors by), is counted as too short and not scored."""
    methods = list(methods)
    unknown = [m for m in methods if m not in FORECASTERS]
    if unknown:
        raise ValueError(f"unknown forecast method(s): {', '.join(unknown)}")
    scores = {(m, h): Score(m, h) for m in methods for h in range(1, horizon + 1)}
    by_length: dict[tuple[str, str, int], Score] = {}
    series_by_length: dict[str, int] = {}
    scored = too_short = 0
    for series in counts:
        y = np.asarray(series, dtype=float)
        scale = float(np.mean(np.abs(np.diff(y)))) if len(y) > 1 else 0.0
        if len(y) < min_train + 1 or scale == 0:
            too_short += 1
            continue
        scored += 1
        series_by_length[length_bucket(len(y))] = series_by_length.get(length_bucket(len(y)), 0) + 1
        for origin in range(min_train, len(y)):
            history, ahead = y[:origin], y[origin : origin + horizon]
            for method in methods:
                forecast = FORECASTERS[method](history, len(ahead))
                bucket = length_bucket(len(y))
                for h, actual in enumerate(ahead, start=1):
                    guess = float(forecast.mean[h - 1])
                    inside = forecast.low[h - 1] <= actual <= forecast.high[h - 1]
                    right = _direction(history[-1], guess) == _direction(history[-1], actual)
                    by = by_length.setdefault((bucket, method, h), Score(method, h))
                    for score in (scores[(method, h)], by):
                        score.errors.append(abs(actual - guess) / scale)
                        score.inside += int(inside)
                        score.right += int(right)
                        score.forecasts += 1
    return Backtest(scores, scored, too_short, min_train, horizon, by_length, series_by_length)


LENGTHS = ((0, 11, "up to 11 weeks"), (12, 25, "12-25 weeks"), (26, 10**9, "26 weeks or more"))
MIN_BUCKET_FORECASTS = 12  # fewer forecasts in a length bucket say too little to choose by


def length_bucket(weeks: int) -> str:
    """Which length of series `weeks` of history falls in (LENGTHS)."""
    return next(name for low, high, name in LENGTHS if low <= weeks <= high)


def weekly_counts(times: Iterable[dt.datetime], cover: Coverage) -> np.ndarray:
    """Posts per week over the covered weeks, empty weeks as 0 (posts outside not counted)."""
    weeks = len(cover.weeks)
    out = np.zeros(weeks, dtype=float)
    for when in times:
        at = (week_start(when) - cover.first).days // 7
        if 0 <= at < weeks:
            out[at] += 1
    return out


def store_series(
    store: Store,
    kind: str,
    top: int = 12,
    index: StyleIndex | None = None,
    names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """The weekly series a Trends page draws, over the weeks the scrapes wholly cover (a partly
    scraped oldest week, or the week not over yet, would read as a fall): the `top` tags' posts
    (`kind` "tags"; or the tags in `names`), each of those tags on each source ("sources"), or
    each style's ("styles", from `index`) over the weeks every one of those tags covers."""
    every = [w for _, s in store.images.post_times() if (w := parse_time(s))]
    if not every:
        return {}
    first, last = min(every), max(every)
    tags: dict[str, tuple[list[dt.datetime], Coverage]] = {}
    chosen = list(names) if names is not None else [t for t, _ in store.images.tag_counts()[:top]]
    if kind == "sources":
        return _source_series(store, chosen)
    for name in chosen:
        times = [w for _, s in store.images.post_times(name) if (w := parse_time(s))]
        cover = coverage(times, first, last)
        if cover is not None:
            tags[name] = (times, cover)
    if kind == "tags":
        return {f"#{n}": weekly_counts(times, cover) for n, (times, cover) in tags.items()}
    if index is None:
        raise ValueError("the styles' series need a style index")
    if not tags:
        return {}
    common = Coverage(max(c.first for _, c in tags.values()), min(c.last for _, c in tags.values()))
    label_of = dict(zip(index.ids.tolist(), index.labels.tolist(), strict=True))
    times_of: dict[int, list[dt.datetime]] = {}
    for image_id, _source, stamp in store.images.source_post_times():
        when = parse_time(stamp)
        if when is not None and image_id in label_of:
            times_of.setdefault(label_of[image_id], []).append(when)
    names = index.meta.names
    return {names[k]: weekly_counts(v, common) for k, v in sorted(times_of.items())}


def _source_series(store: Store, tags: Sequence[str]) -> dict[str, np.ndarray]:
    """Each tag's weekly posts on each source, over the weeks that source's scrapes of it wholly
    cover (the source's own first and last post bound them)."""
    rows = store.images.source_post_times()
    tags_of = store.images.tags_by_image()
    wanted = set(tags)
    by_source: dict[str, list[dt.datetime]] = {}
    by_pair: dict[tuple[str, str], list[dt.datetime]] = {}
    for image_id, source, stamp in rows:
        when = parse_time(stamp)
        if when is None:
            continue
        by_source.setdefault(source, []).append(when)
        for tag in tags_of.get(image_id, ()):
            if tag in wanted:
                by_pair.setdefault((tag, source), []).append(when)
    out = {}
    for (tag, source), times in sorted(by_pair.items()):
        cover = coverage(times, min(by_source[source]), max(by_source[source]))
        if cover is not None:
            out[f"#{tag} on {source}"] = weekly_counts(times, cover)
    return out


@dataclass(frozen=True)
class TrackRecord:
    """The method chosen for a kind of series, by its backtest, with its record at `horizon`;
    `method` is None when no series was long enough to score (then no forecast is shown)."""

    method: str | None
    horizon: int
    score: Score | None
    series: int
    lengths: str = "series of every length"  # the origins the method was chosen on

    def describe(self) -> str:
        if self.method is None or self.score is None:
            return "too few whole weeks to score a forecast on past weeks: none is shown"
        return (
            f"{self.horizon}-week forecast by {METHOD_NAMES[self.method]}: error "
            f"{self.score.mase:.2f}× a naive guess on past weeks; {self.score.coverage:.0%} of "
            f"past weeks inside the 95% band; direction right {self.score.direction:.0%} "
            f"({self.score.forecasts} forecasts on {self.lengths}: {self.series} series; the"
            " best of 5 methods on these weeks, so a little flattering)"
        )


METHOD_NAMES = {
    "model": "the trend model",
    "naive": "last week's number",
    "mean": "the mean",
    "drift": "the drift line",
    "ets": "exponential smoothing",
}


def track_record(counts: Iterable[np.ndarray], horizon: int = 4, min_train: int = 6) -> TrackRecord:
    """Backtest every method on `counts` (series of one kind, e.g. the tags shown) and keep
    the one with the lowest MASE `horizon` weeks ahead."""
    result = backtest(counts, horizon, min_train)
    if result.series == 0:
        return TrackRecord(None, horizon, None, 0)
    method = result.best(horizon)
    return TrackRecord(method, horizon, result.scores[(method, horizon)], result.series)


@dataclass(frozen=True)
class Records:
    """The records behind the forecasts drawn: one per length of series used, and which one
    each series' forecast follows."""

    used: list[TrackRecord]
    of: dict[str, TrackRecord]  # series name -> its record

    def describe(self) -> str:
        return "; ".join(r.describe() for r in self.used)


def forecast_by_record(trends: Sequence[Trend], horizon: int = 4) -> Records:
    """Give each trend the forecast of the method with the best record on these series' past
    weeks, judged on the series of the trend's length where they made enough forecasts
    (`Backtest.best_for`), replacing the model's own; none where no series is long enough
    to score one, or where a series is not longer than the horizon."""
    result = backtest([t.counts for t in trends], horizon)
    if not result.scores[("naive", horizon)].forecasts:  # nothing reached `horizon` weeks ahead
        empty = TrackRecord(None, horizon, None, 0)
        for trend in trends:
            trend.forecast = []
        return Records([empty], {t.name: empty for t in trends})
    used: dict[tuple[str, str], TrackRecord] = {}
    of: dict[str, TrackRecord] = {}
    for trend in trends:
        trend.forecast = []
        method, score, lengths, scored = result.best_for(len(trend.counts), horizon)
        record = used.setdefault(
            (method, lengths), TrackRecord(method, horizon, score, scored, lengths)
        )
        of[trend.name] = record
        if len(trend.counts) > horizon:
            said = FORECASTERS[method](trend.counts, horizon)
            weeks = [trend.coverage.last + (i + 1) * WEEK for i in range(horizon)]
            trend.forecast = [
                Forecast(week, float(m), float(lo), float(hi))
                for week, m, lo, hi in zip(weeks, said.mean, said.low, said.high, strict=True)
            ]
    return Records(list(used.values()), of)
