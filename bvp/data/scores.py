"""The one definition of forecast scores, used by backtests, model choice, the benchmark,
monthly metrics and the dashboard, so that one name always means one number. (Pure
functions of arrays; they live in the data room so that every room may use them.)

- MAE: mean absolute error of the median over all scored points.
- MASE: that MAE over a fixed scale per sensor: the in-sample MAE of the day-ago naive
  forecast over the history before the first origin. Below 1 beats "same time
  yesterday" as it did on that history. The scale is fixed, so pooling origins and
  averaging per-origin MASEs give the same number.
- bias: mean of median minus actual.
- pinball: mean pinball loss over the quantiles forecast.
- coverage: share of actuals inside the p10-p90 band, over the points whose outcome was
  uncertain: a band of zero width that held (PV at night: 0 forecast, 0 measured) is
  left out, since it says nothing of calibration and would flatter any band. Without
  that, PV's coverage would count every night as a hit.

Models are compared only on the points every one of them forecast (``common_points``):
a model that skips hard days must not win on the easy ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)
SCORES = ["mae", "mase", "bias", "pinball", "coverage", "points"]


def mase_scale(history: pd.Series, before: pd.Timestamp, resolution: pd.Timedelta) -> float:
    """In-sample MAE of the day-ago naive forecast over ``history`` before ``before``
    (events that ended by then); NaN if there is no pair a day apart."""
    known = history[history.index + resolution <= before].dropna()
    day_ago = known.reindex(known.index - DAY).to_numpy()
    errors = np.abs(known.to_numpy() - day_ago)
    errors = errors[~np.isnan(errors)]
    return float(errors.mean()) if len(errors) else float("nan")


def score(forecast: pd.DataFrame, actual: np.ndarray, scale: float) -> dict[str, float]:
    """Scores of one forecast (columns: quantiles, 0.5 the median) against ``actual``,
    over the points where both are known."""
    median = forecast[0.5].to_numpy(dtype=float)
    actual = np.asarray(actual, dtype=float)
    ok = ~np.isnan(median) & ~np.isnan(actual)
    if not ok.any():
        return {name: np.nan for name in SCORES} | {"points": 0}
    error = median[ok] - actual[ok]
    mae = float(np.mean(np.abs(error)))
    quantiles = [q for q in forecast.columns if not np.isnan(forecast[q].to_numpy()[ok]).all()]
    losses = [
        _pinball(forecast[q].to_numpy(dtype=float)[ok], actual[ok], float(q)) for q in quantiles
    ]
    coverage = np.nan
    if 0.1 in forecast.columns and 0.9 in forecast.columns:
        low, high = forecast[0.1].to_numpy()[ok], forecast[0.9].to_numpy()[ok]
        banded = ~np.isnan(low) & ~np.isnan(high)  # points with no band are not counted
        inside = (actual[ok] >= low) & (actual[ok] <= high)
        counted = banded & ~((low == high) & inside)
        coverage = float(np.mean(inside[counted])) if counted.any() else np.nan
    return {
        "mae": mae,
        "mase": mae / scale if scale and np.isfinite(scale) and scale > 0 else np.nan,
        "bias": float(np.mean(error)),
        "pinball": float(np.mean(losses)) if len(quantiles) > 1 else np.nan,
        "coverage": coverage,
        "points": int(ok.sum()),
    }


def _pinball(predicted: np.ndarray, actual: np.ndarray, quantile: float) -> float:
    """Mean pinball loss over the points where this quantile was forecast."""
    difference = actual - predicted
    return float(np.nanmean(np.maximum(quantile * difference, (quantile - 1) * difference)))


def common_points(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Keep the (origin, event) points that every model forecast and that have an actual.

    ``forecasts`` is long: one row per model, origin and event, with the quantile columns
    and ``actual``."""
    keys = ["origin", "event"]
    known = forecasts[forecasts[0.5].notna() & forecasts["actual"].notna()]
    models = known["model"].nunique()  # a model that forecast nothing is not compared
    counts = known.groupby(keys)["model"].transform("nunique")
    return known[counts == models]


def score_table(forecasts: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Scores per model over the points every model forecast, best MASE first."""
    common = common_points(forecasts)
    quantiles = [c for c in forecasts.columns if isinstance(c, float)]
    rows = {
        model: score(group[quantiles].dropna(axis=1, how="all"), group["actual"], scale)
        for model, group in common.groupby("model", sort=False)
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=SCORES)
    return table.rename_axis("model").sort_values("mase")
