"""A learned model on seasonal lags and the local calendar: ridge regression.

Pure functions: history in, forecasts out; nothing after the origin is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bvp.forecasting.features import design_matrix, seasonal_lags

TRAINING_WINDOW = pd.Timedelta(weeks=8)
MIN_TRAINING_ROWS = 2 * 96  # two days of quarter-hours


def _training_data(history, origin, events, resolution, timezone, country, regressors):
    known = history[history.index + resolution <= origin]  # what was measured by the origin
    known_regressors = {
        name: series[series.index + resolution <= origin]
        for name, series in (regressors or {}).items()
    }
    lags = seasonal_lags(events[-1] + resolution - origin)
    train_index = known.index[known.index >= origin - TRAINING_WINDOW]
    x_train = design_matrix(known, train_index, lags, timezone, country, known_regressors)
    # A feature missing for most of the window (a regressor without history, a coarser
    # one) is dropped rather than emptying the training set.
    sparse = [c for c in x_train.columns if x_train[c].isna().mean() > 0.5]
    x_train = x_train.drop(columns=sparse)
    usable = x_train.notna().all(axis=1) & known.reindex(train_index).notna().to_numpy()
    x_future = design_matrix(known, events, lags, timezone, country, known_regressors)
    x_future = x_future.drop(columns=sparse)
    x_future = x_future.fillna(x_train[usable].mean())
    return x_train[usable], known.reindex(train_index)[usable.to_numpy()], x_future


def ridge(
    history: pd.Series,
    origin: pd.Timestamp,
    events: pd.DatetimeIndex,
    resolution: pd.Timedelta,
    timezone: str = "UTC",
    country: str | None = None,
    regressors: dict[str, pd.Series] | None = None,
    **_context,
) -> pd.DataFrame:
    """Median forecast (column 0.5) from a ridge regression; NaN if too little history."""
    x, y, x_future = _training_data(
        history, origin, events, resolution, timezone, country, regressors
    )
    if len(y) < MIN_TRAINING_ROWS:
        return pd.DataFrame({0.5: np.full(len(events), np.nan)}, index=events)
    # scikit-learn takes about a second to import: only processes that fit pay for it
    # (workers import it once at start, in ``preload_models``)
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x.to_numpy(), y.to_numpy())
    return pd.DataFrame({0.5: model.predict(x_future.to_numpy())}, index=events)
