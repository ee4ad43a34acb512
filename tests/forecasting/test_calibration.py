"""Intervals calibrated on backtest errors hold their stated coverage."""

import numpy as np
import pandas as pd
import pytest

from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.calibration import interval_offsets, recent_spread, with_intervals

RESOLUTION = pd.Timedelta(minutes=15)
Z90 = 1.2816  # the standard normal's 90th percentile


def noisy_days(start: str, days: int, seed: int):
    """A known median (a daily profile) and actuals around it: normal noise whose spread
    is ten times larger at noon than at midnight."""
    events = pd.date_range(start, periods=days * 96, freq=RESOLUTION, tz="UTC")
    hours = events.hour + events.minute / 60
    median = 10 + 5 * np.sin(2 * np.pi * hours / 24)
    spread = 0.2 + 1.8 * np.sin(np.pi * hours / 24) ** 2
    noise = np.random.default_rng(seed).normal(0, 1, len(events)) * spread
    return events, np.asarray(median), np.asarray(median + noise)


def test_calibrated_bands_cover_80_percent_of_days_they_never_saw():
    events, median, actual = noisy_days("2024-03-01", 28, seed=1)
    offsets = interval_offsets(events, median, actual, np.ones(len(events)), "UTC")
    # The offsets follow the spread per hour: about -1.28 and +1.28 of it.
    noon, midnight = 12, 0
    assert offsets["0.9"][noon] == pytest.approx(Z90 * 2.0, rel=0.25)
    assert offsets["0.9"][midnight] == pytest.approx(Z90 * 0.2, rel=0.35)
    assert offsets["0.1"][noon] == pytest.approx(-Z90 * 2.0, rel=0.25)

    new_events, new_median, new_actual = noisy_days("2024-03-29", 28, seed=2)
    band = with_intervals(pd.Series(new_median, index=new_events), offsets, 1.0, "UTC")
    inside = (new_actual >= band[0.1].to_numpy()) & (new_actual <= band[0.9].to_numpy())
    assert 0.77 <= inside.mean() <= 0.83
    # and per hour of the day, not only on average
    per_hour = pd.Series(inside).groupby(new_events.hour).mean()
    assert per_hour.between(0.65, 0.95).all()


def test_bands_stay_within_physical_bounds_and_never_cross():
    events = pd.date_range("2024-06-01", periods=4, freq="6h", tz="UTC")
    offsets = {"0.1": [-3.0] * 24, "0.9": [2.0] * 24}
    median = pd.Series([0.0, 1.0, 9.0, 10.0], index=events)
    band = within_bounds(with_intervals(median, offsets, 1.0, "UTC"), pd.Timedelta(hours=6), 0, 10)
    assert band.to_numpy().min() >= 0 and band.to_numpy().max() <= 10
    assert (band[0.1] <= band[0.5]).all() and (band[0.5] <= band[0.9]).all()
    assert band[0.1].tolist() == [0.0, 0.0, 6.0, 7.0]


def test_bands_widen_with_the_spread_the_series_showed_before_the_origin():
    """Calibrated on calm days, a band from a restless origin is as much wider as the
    series' recent day-on-day change is larger, and still covers 80 %."""
    events, median, actual = noisy_days("2024-03-01", 28, seed=3)
    offsets = interval_offsets(events, median, actual, np.full(len(events), 0.5), "UTC")
    new_events, new_median, new_actual = noisy_days("2024-03-29", 28, seed=4)
    stormy_actual = new_median + 3 * (new_actual - new_median)  # three times the noise
    calm = with_intervals(pd.Series(new_median, index=new_events), offsets, 0.5, "UTC")
    stormy = with_intervals(pd.Series(new_median, index=new_events), offsets, 1.5, "UTC")
    np.testing.assert_allclose(
        (stormy[0.9] - stormy[0.1]).to_numpy(), 3 * (calm[0.9] - calm[0.1]).to_numpy()
    )
    inside = (stormy_actual >= stormy[0.1].to_numpy()) & (stormy_actual <= stormy[0.9].to_numpy())
    assert 0.77 <= inside.mean() <= 0.83


def test_the_recent_spread_is_the_day_on_day_change_of_the_week_before():
    index = pd.date_range("2024-01-01", periods=24 * 14, freq="h", tz="UTC")
    history = pd.Series(np.where(index.day % 2 == 0, 4.0, 1.0), index=index)  # 3 a day
    origin = index[-1] + pd.Timedelta(hours=1)
    assert recent_spread(history, origin, pd.Timedelta(hours=1)) == 3.0
    history[history.index >= origin - pd.Timedelta(days=3)] = 100.0  # the last 3 days
    # Over the 7 days: four changes of 3, one of 99 into the flat stretch, two of 0.
    assert recent_spread(history, origin, pd.Timedelta(hours=1)) == pytest.approx(111 / 7)
