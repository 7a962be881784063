"""The count model behind the tag view: covered weeks, slopes with intervals, significance."""

from __future__ import annotations

import datetime as dt

import numpy as np

from clustering.trends.model import MIN_WEEKS, coverage, fit, judge, series, week_start

MONDAY = dt.datetime(2026, 9, 7, 12, tzinfo=dt.UTC)


def posts(per_week: list[int], start: dt.datetime = MONDAY) -> list[dt.datetime]:
    """Post times: per_week[i] posts spread over Monday to Saturday of week i."""
    return [
        start + dt.timedelta(weeks=i, hours=1 + 120 * k / max(1, n))
        for i, n in enumerate(per_week)
        for k in range(n)
    ]


def test_a_series_covers_only_its_whole_weeks() -> None:
    everything = posts([10] * 10)
    first, last = min(everything), max(everything)
    # a tag scraped back to the start: every week of the feed
    full = coverage(posts([3] * 10), first, last)
    assert full is not None and full.first == week_start(MONDAY)
    # a tag whose scrape stopped inside week 6: from week 7 on, not a rise from nothing
    late = coverage(posts([3] * 4, MONDAY + dt.timedelta(weeks=6)), first, last)
    assert late is not None and late.first == week_start(MONDAY) + dt.timedelta(weeks=7)
    # the newest week is not over (the last post is not on a Sunday): left out
    assert full.last == week_start(last) - dt.timedelta(weeks=1)
    assert coverage([], first, last) is None


def test_naive_counting_would_call_a_flat_but_busy_tag_rising() -> None:
    background = posts([30] * 12)
    busy = posts([25] * 3, MONDAY + dt.timedelta(weeks=9))  # only its newest posts scraped
    flat = posts([4] * 12)
    trends = {t.name: fit(t) for t in series({"busy": busy, "flat": flat}, background + busy)}
    assert "busy" not in trends or len(trends["busy"].coverage.weeks) >= MIN_WEEKS
    assert abs(trends["flat"].slope) < 0.05


def test_slopes_come_with_intervals_and_only_clear_ones_are_called() -> None:
    rng = np.random.default_rng(3)
    weeks = 12
    rising = posts(list(rng.poisson(np.exp(1.5 + 0.2 * np.arange(weeks)))))
    flat = posts(list(rng.poisson(np.full(weeks, 15))))
    everything = rising + flat
    trends = judge([fit(t) for t in series({"rising": rising, "flat": flat}, everything)])
    named = {t.name: t for t in trends}
    assert named["rising"].direction == "rising" and named["rising"].low > 0
    assert abs(named["rising"].slope - 0.2) < 0.05  # the true slope, about
    assert named["flat"].direction == "flat" and named["flat"].low < 0 < named["flat"].high
    assert named["flat"].adjusted_p >= named["flat"].p_value  # Holm never lowers a p-value
    forecast = named["rising"].forecast
    assert [f.week for f in forecast] == [
        named["rising"].coverage.last + dt.timedelta(weeks=i) for i in range(1, 5)
    ]
    assert forecast[-1].mean > forecast[0].mean and all(f.low < f.mean < f.high for f in forecast)


def test_style_shares_are_called_only_when_their_slope_is_clear() -> None:
    from clustering.trends.model import share_trends

    rng = np.random.default_rng(5)
    weeks = [week_start(MONDAY) + dt.timedelta(weeks=i) for i in range(12) if i != 5]  # a gap
    t = np.array([(w - weeks[0]).days / 7 for w in weeks])
    total = 200
    rising_share = 0.1 * np.exp(0.12 * t)
    counts = np.column_stack(
        [
            rng.binomial(total, rising_share),
            rng.binomial(total, np.full(len(t), 0.3)),
            rng.binomial(total, 0.5 * np.exp(-0.05 * t)),
        ]
    )
    trends = {x.name: x for x in share_trends(["up", "flat", "down"], weeks, counts)}
    assert trends["up"].direction == "rising" and trends["up"].of_share
    assert trends["down"].direction == "falling" and trends["flat"].direction == "flat"
    assert trends["up"].forecast == []  # a share has no forecast of posts
    assert share_trends(["a"], weeks[:2], counts[:2, :1]) == []
