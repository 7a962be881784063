"""The forecast backtest on series whose future is known: each method's errors, bands and
directions scored as the forecasting literature scores them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from clustering.trends.backtest import FORECASTERS, METHODS, backtest


def test_a_straight_line_is_forecast_exactly_by_drift_and_the_model_calls_its_direction() -> None:
    line = [np.arange(10, 10 + 3 * 14, 3, dtype=float)]  # +3 posts every week
    result = backtest(line, horizon=4, min_train=6, methods=["model", "naive", "drift"])
    drift = [result.scores[("drift", h)] for h in range(1, 5)]
    assert all(s.mase < 1e-9 and s.direction == 1.0 for s in drift)
    naive = result.scores[("naive", 4)]
    assert naive.mase == pytest.approx(4.0)  # 4 weeks behind a line that rises by one step a week
    assert naive.direction == 0.0  # "flat" every time, and it never was
    assert result.scores[("model", 1)].direction == 1.0
    assert result.best(4) == "drift" and result.series == 1 and result.too_short == 0


def test_steady_noise_is_best_guessed_by_its_mean_and_bands_hold_about_95_percent() -> None:
    rng = np.random.default_rng(3)
    series = [rng.poisson(30, 30).astype(float) for _ in range(4)]
    result = backtest(series, horizon=2, min_train=8, methods=["naive", "mean", "ets"])
    assert result.scores[("mean", 1)].mase < result.scores[("naive", 1)].mase
    assert result.scores[("ets", 1)].mase < result.scores[("naive", 1)].mase
    assert 0.85 <= result.scores[("mean", 1)].coverage <= 1.0
    forecasts = result.scores[("mean", 1)].forecasts
    assert forecasts == 4 * (30 - 8)  # every origin of every series, one week ahead


def test_short_or_unchanging_series_are_not_scored_and_methods_are_checked() -> None:
    result = backtest([np.ones(20), np.arange(5, dtype=float)], min_train=6)
    assert result.series == 0 and result.too_short == 2
    assert all(math.isnan(s.mase) for s in result.scores.values())
    with pytest.raises(ValueError, match="unknown forecast method"):
        backtest([np.arange(10.0)], methods=["prophet"])


@pytest.mark.parametrize("method", METHODS)
def test_every_forecast_is_a_count_inside_its_own_band(method: str) -> None:
    history = np.array([0, 3, 1, 0, 7, 2, 0, 0, 5], dtype=float)
    said = FORECASTERS[method](history, 4)
    assert said.mean.shape == said.low.shape == said.high.shape == (4,)
    assert (said.low >= 0).all() and (said.low <= said.mean).all()
    assert (said.mean <= said.high).all() and np.isfinite(said.high).all()


def test_the_track_record_names_the_method_that_did_best_and_what_it_did() -> None:
    from clustering.trends.backtest import track_record

    line = np.arange(10, 10 + 3 * 14, 3, dtype=float)
    record = track_record([line, line + 5], horizon=4)
    assert record.method == "drift" and record.series == 2
    said = record.describe()
    assert said.startswith("4-week forecast by the drift line: error 0.00× a naive guess")
    assert "100% of past weeks inside the 95% band; direction right 100%" in said
    short = track_record([np.arange(5, dtype=float)])
    assert short.method is None and "none is shown" in short.describe()


def test_the_method_is_chosen_among_series_of_the_same_length() -> None:
    from clustering.trends.backtest import forecast_by_record, length_bucket
    from clustering.trends.model import Coverage, Trend

    assert [length_bucket(n) for n in (6, 11, 12, 25, 26, 80)] == [
        "up to 11 weeks",
        "up to 11 weeks",
        "12-25 weeks",
        "12-25 weeks",
        "26 weeks or more",
        "26 weeks or more",
    ]
    rng = np.random.default_rng(3)
    start = dt.date(2026, 1, 5)

    def trend(name: str, weeks: int) -> Trend:
        counts = rng.poisson(20 + np.arange(weeks), weeks).astype(float)
        cover = Coverage(start, start + dt.timedelta(weeks=weeks - 1))
        return Trend(name, cover, counts, counts * 5)

    shown = [trend(f"long{i}", 30) for i in range(4)] + [trend("short", 9)]
    records = forecast_by_record(shown, horizon=4)
    long_record, short_record = records.of["long0"], records.of["short"]
    assert long_record.lengths == "series 26 weeks or more long"
    # the one short series made too few forecasts to choose by: judged on every length
    assert short_record.lengths == "series of every length"
    assert all(len(t.forecast) == 4 for t in shown)
    assert "forecasts on series 26 weeks or more long" in records.describe()
    several = [trend(f"short{i}", 11) for i in range(6)] + shown
    assert forecast_by_record(several).of["short0"].lengths == "series up to 11 weeks long"
    # one series too short to reach 4 weeks ahead from any origin: no record, no forecast
    alone = [trend("alone", 9)]
    records = forecast_by_record(alone)
    assert records.of["alone"].method is None and alone[0].forecast == []
    assert "none is shown" in records.describe()
