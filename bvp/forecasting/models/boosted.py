"""LightGBM on lags, the local calendar, the sun and future regressors: a median forecast.

Pure: history in, forecasts out. It is fitted at an origin on up to a year of what was
known then, and the fitted model forecasts later origins too (a backtest refits it weekly),
reading their lags from the history known at each of those origins. Intervals come from
calibration on the sensor's own backtest (``bvp.forecasting.calibration``), as for
every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bvp.forecasting.features import (
    history_features,
    known_at,
    known_lags,
    solar_features,
    time_features,
)

TRAINING_WINDOW = pd.Timedelta(days=365)
MIN_TRAINING_ROWS = 2 * 96
PARAMETERS = {
    "objective": "l1",  # the median: what MAE and MASE reward
    "n_estimators": 300,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_child_samples": 20,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "random_state": 0,
    "verbose": -1,
}

FUTURE_SUFFIX = "_at_event"  # a future regressor's value at the event, as known at the origin


def design(
    known: pd.Series,
    origin: pd.Timestamp,
    events: pd.DatetimeIndex,
    resolution: pd.Timedelta,
    lag_days: list[int],
    timezone: str = "UTC",
    country: str | None = None,
    regressors: dict[str, pd.Series] | None = None,
    future_regressors: dict[str, pd.DataFrame] | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    **_context,
) -> pd.DataFrame:
    """The features of ``events`` for a forecast from ``origin``: the target's lags, the
    calendar, the sun, past regressors' lags, and future regressors' values at the events
    as known at the origin (a weather forecast issued by then)."""
    parts = [
        history_features(known, events, lag_days),
        time_features(events, timezone, country),
    ]
    if latitude is not None and longitude is not None:
        parts.append(solar_features(events, resolution, latitude, longitude))
    for name, series in (regressors or {}).items():
        parts.append(history_features(series, events, lag_days[:1], name=name))
    for name, beliefs in (future_regressors or {}).items():
        values = known_at(beliefs, origin).reindex(events).to_numpy()
        parts.append(pd.DataFrame({f"{name}{FUTURE_SUFFIX}": values}, index=events))
    return pd.concat(parts, axis=1)


def fit_lightgbm(
    history: pd.Series,
    origin: pd.Timestamp,
    resolution: pd.Timedelta,
    horizon: pd.Timedelta,
    threads: int = 1,
    window: pd.Timedelta = TRAINING_WINDOW,
    **context,
) -> LightGBMForecaster:
    """Fit on the events in ``window`` before ``origin``; return the forecaster for
    origins at or after it, up to ``horizon`` ahead (NaN past it)."""
    import lightgbm

    lag_days = known_lags(horizon)
    known = history[history.index + resolution <= origin].dropna()
    train = known.index[known.index >= origin - window]
    if len(train) < MIN_TRAINING_ROWS:
        return LightGBMForecaster(None, lag_days, resolution, [])
    x = design(known, origin, train, resolution, lag_days, **context)
    model = lightgbm.LGBMRegressor(n_jobs=threads, **PARAMETERS)
    model.fit(x, known.reindex(train).to_numpy())
    return LightGBMForecaster(model.booster_, lag_days, resolution, list(x.columns))


@dataclass(frozen=True)
class LightGBMForecaster:
    """A fitted LightGBM: its trees, the lags it reads and its features, in order."""

    booster: Any  # lightgbm.Booster; None when there was too little history to fit
    lag_days: list[int]
    resolution: pd.Timedelta
    features: list[str]

    def __call__(self, history, origin, events, threads: int = 1, **context) -> pd.DataFrame:
        if self.booster is None:
            return pd.DataFrame({0.5: np.full(len(events), np.nan)}, index=events)
        known = history[history.index + self.resolution <= origin]
        x = design(known, origin, events, self.resolution, self.lag_days, **context)
        # the features it was fitted on, in that order: a regressor added since is unread,
        # one gone is missing (NaN)
        x = x.reindex(columns=self.features)
        median = self.booster.predict(x.to_numpy(dtype=float), num_threads=threads)
        median[events + self.resolution - origin > min(self.lag_days) * pd.Timedelta(days=1)] = (
            np.nan
        )
        # An event whose future regressor nobody forecast by the origin is not forecast:
        # trained on values, trees would read the gap as some value (the caller falls
        # back to a model that needs no regressor).
        for column in x.columns[x.columns.str.endswith(FUTURE_SUFFIX)]:
            median[x[column].isna().to_numpy()] = np.nan
        return pd.DataFrame({0.5: median}, index=events)

    def state(self) -> dict[str, Any]:
        return {
            "lag_days": self.lag_days,
            "features": self.features,
            "trees": None if self.booster is None else self.booster.model_to_string(),
        }

    @classmethod
    def restore(cls, state: dict[str, Any], resolution: pd.Timedelta) -> LightGBMForecaster:
        import lightgbm

        trees = state.get("trees")
        booster = None if trees is None else lightgbm.Booster(model_str=trees)
        return cls(booster, list(state["lag_days"]), resolution, list(state["features"]))
