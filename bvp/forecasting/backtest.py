"""Rolling-origin backtests: forecast each past day as if it were tomorrow, and score.

Pure functions of pandas data. Every origin sees only what was measured before it; the
scores are MAE, MASE (MAE over the in-sample mean absolute day-on-day change, so below 1
beats "same time yesterday" on that history), bias (mean forecast minus actual), and,
for models with quantiles, the mean pinball loss and the p10-p90 coverage.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from bvp.forecasting.models import learned, naive

DAY = pd.Timedelta(days=1)


def _naive(season: pd.Timedelta) -> Callable:
    def forecast(history, origin, events, resolution, **_context) -> pd.DataFrame:
        values = naive.seasonal_naive(history, origin, events, resolution, season=season)
        return pd.DataFrame({0.5: values.to_numpy()}, index=events)

    return forecast


MODELS: dict[str, Callable[..., pd.DataFrame]] = {
    "naive-1d": _naive(pd.Timedelta(days=1)),
    "naive-7d": _naive(pd.Timedelta(days=7)),
    "ridge": learned.ridge,
    "gbm-quantiles": learned.boosted_quantiles,
}


def backtest(
    history: pd.Series,
    origins: list[pd.Timestamp],
    horizon: pd.Timedelta,
    resolution: pd.Timedelta,
    models: list[str],
    **context,
) -> pd.DataFrame:
    """One row per (model, origin) with its scores; ``context`` goes to the models."""
    rows = []
    for origin in origins:
        events = pd.date_range(origin, origin + horizon, freq=resolution, inclusive="left")
        actual = history.reindex(events).to_numpy()
        past = history[history.index + resolution <= origin]
        scale = np.nanmean(np.abs(past.to_numpy() - past.reindex(past.index - DAY).to_numpy()))
        for name in models:
            forecast = MODELS[name](past, origin, events, resolution, **context)
            rows.append({"model": name, "origin": origin, **score(forecast, actual, scale)})
    return pd.DataFrame(rows)


def score(forecast: pd.DataFrame, actual: np.ndarray, scale: float) -> dict[str, float]:
    median = forecast[0.5].to_numpy()
    ok = ~np.isnan(median) & ~np.isnan(actual)
    if not ok.any():
        return {
            "mae": np.nan,
            "mase": np.nan,
            "bias": np.nan,
            "pinball": np.nan,
            "coverage": np.nan,
        }
    error = median[ok] - actual[ok]
    mae = float(np.mean(np.abs(error)))
    quantiles = [q for q in forecast.columns if q != 0.5]
    losses = [_pinball(forecast[q].to_numpy()[ok], actual[ok], q) for q in forecast.columns]
    coverage = np.nan
    if 0.1 in quantiles and 0.9 in quantiles:
        low, high = forecast[0.1].to_numpy()[ok], forecast[0.9].to_numpy()[ok]
        coverage = float(np.mean((actual[ok] >= low) & (actual[ok] <= high)))
    return {
        "mae": mae,
        "mase": mae / scale if scale and np.isfinite(scale) and scale > 0 else np.nan,
        "bias": float(np.mean(error)),
        "pinball": float(np.mean(losses)),
        "coverage": coverage,
    }


def _pinball(predicted: np.ndarray, actual: np.ndarray, quantile: float) -> float:
    difference = actual - predicted
    return float(np.mean(np.maximum(quantile * difference, (quantile - 1) * difference)))


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Mean scores per model, best MASE first."""
    table = results.groupby("model")[["mae", "mase", "bias", "pinball", "coverage"]].mean()
    return table.sort_values("mase")
