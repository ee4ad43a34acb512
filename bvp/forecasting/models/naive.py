"""Seasonal naive baselines: the value at the same time one season earlier."""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


def seasonal_naive(
    history: pd.Series,
    origin: pd.Timestamp,
    events: pd.DatetimeIndex,
    resolution: pd.Timedelta,
    season: pd.Timedelta = DAY,
) -> pd.Series:
    """Forecast ``events`` (starting at or after ``origin``) from ``history``.

    Each event takes the value of the most recent whole number of seasons earlier whose
    event had ended by ``origin`` (known at forecast time); history after the origin is
    ignored, so the forecast cannot leak the future. Events with no such value are NaN.
    """
    known = history[history.index + resolution <= origin]
    # How many seasons back: the smallest k with event - k*season ending by the origin.
    seasons_back = np.ceil((events - origin + resolution) / season).astype(int)
    seasons_back = np.maximum(seasons_back, 1)
    lookup = events - seasons_back * season
    return pd.Series(known.reindex(lookup).to_numpy(), index=events, name="forecast")
