"""Calibrated intervals: p10 and p90 from the sensor's own backtest residuals.

Split conformal prediction: the errors a model made on the backtest's days, grouped by
the local hour of the event (PV errs at noon, not at night; a day-ahead forecast from
midnight errs more in the evening), give per hour the offsets that held 10 % and 90 % of
the actuals below them. A forecast's band is its median plus those offsets, so the band
claims only the coverage the model showed on past days, whatever model it is.
Pure functions of pandas data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES = (0.1, 0.9)
HOURS = 24
MIN_PER_HOUR = 8  # fewer residuals in an hour: that hour takes the all-hours offsets


def interval_offsets(
    events: pd.DatetimeIndex, median: np.ndarray, actual: np.ndarray, timezone: str
) -> dict[str, list[float]]:
    """Per quantile (as text, for JSON), 24 offsets from the median, one per local hour."""
    residual = np.asarray(actual, dtype=float) - np.asarray(median, dtype=float)
    ok = ~np.isnan(residual)
    hours = events.tz_convert(timezone).hour.to_numpy()[ok]
    residual = residual[ok]
    offsets = {}
    for q in QUANTILES:
        method = "lower" if q < 0.5 else "higher"  # never narrower than the data showed
        overall = float(np.quantile(residual, q, method=method)) if len(residual) else np.nan
        per_hour = []
        for hour in range(HOURS):
            these = residual[hours == hour]
            per_hour.append(
                float(np.quantile(these, q, method=method))
                if len(these) >= MIN_PER_HOUR
                else overall
            )
        offsets[str(q)] = per_hour
    return offsets


def with_intervals(
    median: pd.Series,
    offsets: dict[str, list[float]] | None,
    timezone: str,
    lower: float | None = None,
    upper: float | None = None,
) -> pd.DataFrame:
    """p10, p50 and p90 (columns 0.1, 0.5, 0.9) within the physical bounds; the median
    alone where there are no offsets yet."""
    frame = pd.DataFrame({0.5: median.to_numpy(dtype=float)}, index=median.index)
    if offsets:
        hours = median.index.tz_convert(timezone).hour.to_numpy()
        for q in QUANTILES:
            frame[q] = frame[0.5].to_numpy() + np.asarray(offsets[str(q)], dtype=float)[hours]
        frame = frame[[QUANTILES[0], 0.5, QUANTILES[1]]]
    frame = frame.clip(lower=lower, upper=upper)
    if offsets:  # quantiles must not cross
        frame[:] = np.sort(frame.to_numpy(), axis=1)
    return frame
