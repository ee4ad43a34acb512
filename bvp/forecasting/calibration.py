"""Calibrated intervals: p10 and p90 from the sensor's own backtest residuals.

Split conformal prediction, scaled by how restless the series has been lately: each
backtest error is divided by the series' recent spread at its origin (the mean absolute
day-on-day change over the week before it, known at the origin). Grouped by the local
hour of the event (PV errs at noon, not at night; a forecast from midnight errs more in
the evening), those scaled errors give per hour the offsets that held 10 % and 90 % of
the actuals below them. A forecast's band is its median plus those offsets times the
spread at its own origin: wider in a windy November than the calm October it was
calibrated on, narrower when autumn shortens PV's days. The band claims only the
coverage the model showed on past days, whatever model it is. Pure functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES = (0.1, 0.9)
HOURS = 24
MIN_PER_HOUR = 8  # fewer residuals in an hour: that hour takes the all-hours offsets
SPREAD_WINDOW = pd.Timedelta(days=7)
DAY = pd.Timedelta(days=1)


def recent_spread(history: pd.Series, origin: pd.Timestamp, resolution: pd.Timedelta) -> float:
    """Mean absolute day-on-day change over the week before ``origin``, of events that
    ended by it; NaN without such pairs."""
    known = history[
        (history.index + resolution <= origin) & (history.index >= origin - SPREAD_WINDOW)
    ]
    changes = np.abs(known.to_numpy() - history.reindex(known.index - DAY).to_numpy())
    changes = changes[~np.isnan(changes)]
    return float(changes.mean()) if len(changes) else float("nan")


def interval_offsets(
    events: pd.DatetimeIndex,
    median: np.ndarray,
    actual: np.ndarray,
    spread: np.ndarray,
    timezone: str,
) -> dict[str, list[float]]:
    """Per quantile (as text, for JSON), 24 offsets in units of the recent spread, one
    per local hour of the event."""
    spread = np.asarray(spread, dtype=float)
    residual = (np.asarray(actual, dtype=float) - np.asarray(median, dtype=float)) / spread
    ok = np.isfinite(residual)
    hours = events.tz_convert(timezone).hour.to_numpy()[ok]
    size = np.abs(residual[ok])
    level = QUANTILES[1] - QUANTILES[0]  # 80 % of the errors are this small or smaller
    overall = float(np.quantile(size, level, method="higher")) if len(size) else np.nan
    per_hour = [
        float(np.quantile(size[hours == hour], level, method="higher"))
        if (hours == hour).sum() >= MIN_PER_HOUR
        else overall
        for hour in range(HOURS)
    ]
    return {str(QUANTILES[0]): [-h for h in per_hour], str(QUANTILES[1]): per_hour}


def with_intervals(
    median: pd.Series,
    offsets: dict[str, list[float]] | None,
    spread: float | np.ndarray,
    timezone: str,
) -> pd.DataFrame:
    """p10, p50 and p90 (columns 0.1, 0.5, 0.9), not crossing; the median alone where
    there are no offsets yet (or no recent spread to scale them by). The physical bounds
    are ``bvp.forecasting.bounds``'s to apply."""
    frame = pd.DataFrame({0.5: median.to_numpy(dtype=float)}, index=median.index)
    spread = np.broadcast_to(np.asarray(spread, dtype=float), len(frame))
    banded = bool(offsets) and np.isfinite(spread).all()
    if banded:
        hours = median.index.tz_convert(timezone).hour.to_numpy()
        for q in QUANTILES:
            per_hour = np.asarray(offsets[str(q)], dtype=float)[hours]
            frame[q] = frame[0.5].to_numpy() + per_hour * spread
        frame = frame[[QUANTILES[0], 0.5, QUANTILES[1]]]
        frame[:] = np.sort(frame.to_numpy(), axis=1)  # quantiles must not cross
    return frame
