"""Intervals calibrated on backtest errors hold their stated coverage."""

import numpy as np
import pandas as pd
import pytest

from bvp.forecasting.calibration import interval_offsets, with_intervals

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
    offsets = interval_offsets(events, median, actual, "UTC")
    # The offsets follow the spread per hour: about -1.28 and +1.28 of it.
    noon, midnight = 12, 0
    assert offsets["0.9"][noon] == pytest.approx(Z90 * 2.0, rel=0.25)
    assert offsets["0.9"][midnight] == pytest.approx(Z90 * 0.2, rel=0.35)
    assert offsets["0.1"][noon] == pytest.approx(-Z90 * 2.0, rel=0.25)

    new_events, new_median, new_actual = noisy_days("2024-03-29", 28, seed=2)
    band = with_intervals(pd.Series(new_median, index=new_events), offsets, "UTC")
    inside = (new_actual >= band[0.1].to_numpy()) & (new_actual <= band[0.9].to_numpy())
    assert 0.77 <= inside.mean() <= 0.83
    # and per hour of the day, not only on average
    per_hour = pd.Series(inside).groupby(new_events.hour).mean()
    assert per_hour.between(0.65, 0.95).all()


def test_bands_stay_within_physical_bounds_and_never_cross():
    events = pd.date_range("2024-06-01", periods=4, freq="6h", tz="UTC")
    offsets = {"0.1": [-3.0] * 24, "0.9": [2.0] * 24}
    band = with_intervals(pd.Series([0.0, 1.0, 9.0, 10.0], index=events), offsets, "UTC", 0, 10)
    assert band.to_numpy().min() >= 0 and band.to_numpy().max() <= 10
    assert (band[0.1] <= band[0.5]).all() and (band[0.5] <= band[0.9]).all()
    assert band[0.1].tolist() == [0.0, 0.0, 6.0, 7.0]
