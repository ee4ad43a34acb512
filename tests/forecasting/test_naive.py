"""The seasonal naive baseline: yesterday's value, and never a value from the future."""

import numpy as np
import pandas as pd

from bvp.forecasting.models.naive import seasonal_naive

RESOLUTION = pd.Timedelta(minutes=15)
ORIGIN = pd.Timestamp("2024-06-03T00:00Z")


def history(days_before=3, days_after=2):
    index = pd.date_range(
        ORIGIN - pd.Timedelta(days=days_before),
        ORIGIN + pd.Timedelta(days=days_after),
        freq=RESOLUTION,
        inclusive="left",
    )
    return pd.Series(np.arange(len(index), dtype=float), index=index)


def test_day_ahead_is_yesterdays_profile():
    events = pd.date_range(ORIGIN, periods=96, freq=RESOLUTION)
    forecast = seasonal_naive(history(), ORIGIN, events, RESOLUTION)
    expected = history().reindex(events - pd.Timedelta(days=1))
    np.testing.assert_array_equal(forecast.to_numpy(), expected.to_numpy())


def test_a_model_never_sees_data_from_after_its_origin():
    events = pd.date_range(ORIGIN, periods=96 * 2, freq=RESOLUTION)  # two days ahead
    honest = history()
    leaked = honest.copy()
    leaked[leaked.index >= ORIGIN] = 1e6  # "the future" holds a tell-tale value
    with_future = seasonal_naive(leaked, ORIGIN, events, RESOLUTION)
    without_future = seasonal_naive(honest[honest.index < ORIGIN], ORIGIN, events, RESOLUTION)
    np.testing.assert_array_equal(with_future.to_numpy(), without_future.to_numpy())
    assert (with_future < 1e6).all()
    # The second day ahead falls back two seasons, to data known at the origin.
    assert with_future.iloc[96] == honest[ORIGIN - pd.Timedelta(days=1)]


def test_an_event_still_running_at_the_origin_is_not_known():
    origin = ORIGIN + pd.Timedelta(minutes=5)  # mid-quarter: 00:00-00:15 has not ended
    events = pd.date_range(ORIGIN + RESOLUTION, periods=4, freq=RESOLUTION)
    forecast = seasonal_naive(history(), origin, events, RESOLUTION)
    assert forecast.notna().all()
