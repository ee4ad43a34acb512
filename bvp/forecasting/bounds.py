"""Physical bounds on a forecast: what the sensor cannot measure, no model may forecast.

No negative power from PV or wind speed (``lower_bound``), nothing above a known
capacity (``upper_bound``), and nothing from a PV system or an irradiance sensor while
the sun is down at its asset (``daylight_only``, with the asset's coordinates). A night
forecast of exactly zero also gets a band of zero width, so the p10-p90 coverage is
measured where the outcome was uncertain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def within_bounds(
    forecast: pd.Series | pd.DataFrame,
    resolution: pd.Timedelta,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    daylight_only: bool = False,
    latitude: float | None = None,
    longitude: float | None = None,
    **_context,
) -> pd.Series | pd.DataFrame:
    """A median (or a frame of quantiles, every column alike) within the bounds."""
    bounded = forecast.clip(lower=lower_bound, upper=upper_bound)
    if daylight_only and latitude is not None and longitude is not None and len(forecast):
        dark = sun_down(pd.DatetimeIndex(forecast.index), resolution, latitude, longitude)
        night = bounded.loc[dark]
        bounded.loc[dark] = night.where(night.isna(), 0.0)
    return bounded


def sun_down(
    events: pd.DatetimeIndex, resolution: pd.Timedelta, latitude: float, longitude: float
) -> np.ndarray:
    """Events during which the sun stays below the horizon at the location (pvlib)."""
    from pvlib import solarposition

    def elevation(times: pd.DatetimeIndex) -> np.ndarray:
        position = solarposition.get_solarposition(times, latitude, longitude)
        return position["apparent_elevation"].to_numpy()

    return (elevation(events) < 0) & (elevation(events + resolution) < 0)
