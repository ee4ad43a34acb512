"""Features for forecasting: seasonal lags known at the origin, and the local calendar.

Pure functions of pandas data. Calendar features are computed in the sensor's own time
zone per timestamp, so "08:00 on a Monday" stays 08:00 across DST changes; holidays come
from the `holidays` package for the sensor's country.
"""

from __future__ import annotations

import math
from datetime import timedelta

import holidays as holiday_calendars
import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)
WEEK = pd.Timedelta(days=7)


def seasonal_lags(max_horizon: timedelta) -> list[pd.Timedelta]:
    """Lags (whole days, and a week) whose values are known at the origin for every
    event up to ``max_horizon`` ahead: a lag shorter than the horizon would need data
    from after the origin."""
    days = max(1, math.ceil(pd.Timedelta(max_horizon) / DAY))
    return sorted({days * DAY, max(WEEK, days * DAY)})


def lag_features(
    history: pd.Series, events: pd.DatetimeIndex, lags: list[pd.Timedelta], name: str = "y"
) -> pd.DataFrame:
    """Value ``lag`` before each event, from ``history`` (NaN where unknown)."""
    return pd.DataFrame(
        {
            f"{name}_lag_{int(lag / pd.Timedelta(hours=1))}h": history.reindex(
                events - lag
            ).to_numpy()
            for lag in lags
        },
        index=events,
    )


def calendar_features(events: pd.DatetimeIndex, timezone: str, country: str | None) -> pd.DataFrame:
    """Time of day (cyclic and one-hot hours), day of week (one-hot) and holiday, local."""
    local = events.tz_convert(timezone)
    minutes = local.hour * 60 + local.minute
    angle = 2 * np.pi * minutes / (24 * 60)
    frame = {"tod_sin": np.sin(angle), "tod_cos": np.cos(angle)}
    for hour in range(24):  # lets a linear model follow a daily profile
        frame[f"hour_{hour}"] = (local.hour == hour).astype(float)
    for day in range(7):
        frame[f"dow_{day}"] = (local.dayofweek == day).astype(float)
    frame["holiday"] = _holidays(local, country)
    return pd.DataFrame(frame, index=events)


def _holidays(local: pd.DatetimeIndex, country: str | None) -> np.ndarray:
    if not country:
        return np.zeros(len(local))
    years = sorted(set(local.year))
    try:
        calendar = holiday_calendars.country_holidays(country, years=years)
    except NotImplementedError:
        return np.zeros(len(local))
    dates = np.array([d for d in calendar], dtype="datetime64[D]")
    return np.isin(
        local.tz_localize(None).normalize().values.astype("datetime64[D]"), dates
    ).astype(float)


def design_matrix(
    known: pd.Series,
    events: pd.DatetimeIndex,
    lags: list[pd.Timedelta],
    timezone: str,
    country: str | None,
    regressors: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Everything a model may use for ``events``: the target's and regressors' seasonal
    lags (from data known at the origin only) and the local calendar."""
    parts = [lag_features(known, events, lags), calendar_features(events, timezone, country)]
    for name, series in (regressors or {}).items():
        parts.append(lag_features(series, events, lags, name=name))
    return pd.concat(parts, axis=1)


def known_lags(max_horizon: timedelta) -> list[int]:
    """Whole-day lags (in days) a forecast up to ``max_horizon`` ahead can use for every
    event: the first few days it can see, a week and two weeks."""
    first = max(1, math.ceil(pd.Timedelta(max_horizon) / DAY))
    return sorted({*range(first, first + 3), 7, 14} - set(range(first)))


def history_features(
    known: pd.Series,
    events: pd.DatetimeIndex,
    lag_days: list[int],
    name: str = "y",
) -> pd.DataFrame:
    """The value ``d`` days before each event, for each ``d`` in ``lag_days``, from what
    was known at the origin. (Daily and weekly means ending at the shortest lag were
    tried too: they made LightGBM worse on demand and on PV, bench/forecast_quality.py.)"""
    values = known[~known.index.duplicated()]
    return pd.DataFrame(
        {f"{name}_lag_{d}d": values.reindex(events - d * DAY).to_numpy() for d in lag_days},
        index=events,
    )


def time_features(events: pd.DatetimeIndex, timezone: str, country: str | None) -> pd.DataFrame:
    """Local minute of the day, day of the week and holiday: for trees, which split on
    them, rather than the one-hot calendar a linear model needs."""
    local = events.tz_convert(timezone)
    return pd.DataFrame(
        {
            "minute_of_day": (local.hour * 60 + local.minute).to_numpy(dtype=float),
            "day_of_week": local.dayofweek.to_numpy(dtype=float),
            "holiday": _holidays(local, country),
        },
        index=events,
    )


def solar_features(
    events: pd.DatetimeIndex, resolution: pd.Timedelta, latitude: float, longitude: float
) -> pd.DataFrame:
    """Future regressors computed for any time: the sun's elevation and the clear-sky
    irradiance (Haurwitz) at the middle of each event, at the asset's location (pvlib)."""
    from pvlib import clearsky, solarposition

    middle = events + resolution / 2
    position = solarposition.get_solarposition(middle, latitude, longitude)
    ghi = clearsky.haurwitz(position["apparent_zenith"])["ghi"]
    return pd.DataFrame(
        {
            "sun_elevation": position["apparent_elevation"].to_numpy(),
            "clear_sky_ghi": ghi.to_numpy(),
        },
        index=events,
    )


def known_at(beliefs: pd.DataFrame, origin: pd.Timestamp) -> pd.Series:
    """A regressor's values as they were known at ``origin``: per event, the latest belief
    formed at or before it. ``beliefs`` holds every belief (``event_value`` and
    ``belief_time``, indexed by event start, oldest belief first per event), so a weather
    forecast issued after the origin is never read, and one issued before it is, for
    events before and after the origin alike."""
    known = beliefs[beliefs["belief_time"] <= origin]
    return known["event_value"][~known.index.duplicated(keep="last")]
