"""Style trends without Dash: each style's share of posts per week and which styles rise or fall."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


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
    """The Monday of the week of an ISO time stamp, or None when it cannot be read."""
    try:
        day = dt.date.fromisoformat(stamp[:10])
    except (TypeError, ValueError):
        return None
    return day - dt.timedelta(days=day.weekday())


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
