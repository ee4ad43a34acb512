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

from bvp.data.utc import iso_duration
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
    lead_times: list[pd.Timedelta] | None = None,
    **context,
) -> pd.DataFrame:
    """One row per (model, origin, horizon) with its scores; ``context`` goes to models.

    Each origin's forecast reaches ``horizon`` ahead; it is also scored over its first
    ``lead_times`` (e.g. the first hour and the first six hours), as the forecasts
    queued for those horizons would be.
    """
    rows = []
    horizons = sorted({*(lead_times or []), horizon})
    for origin in origins:
        events = pd.date_range(origin, origin + horizon, freq=resolution, inclusive="left")
        actual = history.reindex(events).to_numpy()
        past = history[history.index + resolution <= origin]
        scale = np.nanmean(np.abs(past.to_numpy() - past.reindex(past.index - DAY).to_numpy()))
        for name in models:
            forecast = MODELS[name](past, origin, events, resolution, **context)
            for ahead in horizons:
                steps = int(ahead / resolution)
                rows.append(
                    {
                        "model": name,
                        "horizon": iso_duration(ahead.to_pytimedelta()),
                        "origin": origin,
                        **score(forecast.iloc[:steps], actual[:steps], scale),
                    }
                )
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


SCORES = ["mae", "mase", "bias", "pinball", "coverage"]


def summary(results: pd.DataFrame, horizon: str | None = None) -> pd.DataFrame:
    """Mean scores per model (at one horizon: the longest by default), best MASE first,
    over the origins every model could forecast: a model that skips hard days (too
    little history yet) must not win on the easy ones."""
    horizon = horizon or _longest(results["horizon"])
    at = results[results["horizon"] == horizon]
    mase = at.pivot_table(index="origin", columns="model", values="mase", dropna=False)
    common = mase.dropna().index
    if len(common):
        at = at[at["origin"].isin(common)]
    return at.groupby("model")[SCORES].mean().sort_values("mase")


def summary_by_horizon(results: pd.DataFrame) -> pd.DataFrame:
    """Mean scores per model and horizon."""
    table = results.groupby(["horizon", "model"])[SCORES].mean()
    order = sorted(results["horizon"].unique(), key=lambda h: pd.Timedelta(h))
    return table.reindex(order, level="horizon")


def _longest(horizons: pd.Series) -> str:
    return max(horizons.unique(), key=lambda h: pd.Timedelta(h))
