"""Forecast accuracy per sensor, model and horizon for a month.

Every stored forecast about an event of the month counts, from every origin: a forecast
made at origin ``t`` for the event ``e`` has the horizon ``e + resolution - t`` and falls
in the shortest configured horizon that covers it (PT1H, PT6H, P1D by default). It is
scored against the latest measurement of its event:

- MAE and bias (forecast minus measured) of the median;
- MASE: the MAE over the mean absolute change from the same time a day earlier within
  the month's measurements (one step earlier for series shorter than two days);
- pinball loss averaged over the stored quantiles (p10, p50, p90);
- coverage: the share of measurements inside the p10-p90 band, where both are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.beliefs import latest_beliefs
from bvp.data.models import Sensor
from bvp.metrics.months import Month

_FORECASTS = text(
    """
    SELECT b.event_start, b.belief_time, b.cumulative_probability AS q, b.event_value AS value,
           coalesce(s.model, s.name) AS model
    FROM timed_belief b JOIN data_source s ON s.id = b.source_id
    WHERE b.sensor_id = :sensor_id AND b.event_start >= :start AND b.event_start < :end
      AND s.type = 'forecaster'
    """
)


@dataclass(frozen=True)
class Accuracy:
    model: str
    horizon: timedelta
    forecasts: int
    mae: float | None
    mase: float | None
    bias: float | None
    pinball: float | None
    coverage: float | None


def sensor_accuracy(
    session: Session,
    sensor: Sensor,
    month: Month,
    horizons: list[timedelta],
    forecasters: list[int],
) -> list[Accuracy]:
    resolution = pd.Timedelta(sensor.event_resolution)
    actual = latest_beliefs(
        session, sensor.id, month.start, month.end, exclude_sources=forecasters
    )["event_value"]
    rows = session.execute(
        _FORECASTS, {"sensor_id": sensor.id, "start": month.start, "end": month.end}
    ).all()
    if not rows or actual.empty:
        return []
    frame = pd.DataFrame(rows, columns=["event_start", "belief_time", "q", "value", "model"])
    frame["event_start"] = pd.to_datetime(frame["event_start"], utc=True)
    frame["belief_time"] = pd.to_datetime(frame["belief_time"], utc=True)
    frame["actual"] = actual.reindex(pd.DatetimeIndex(frame["event_start"])).to_numpy()
    frame = frame.dropna(subset=["actual"])
    lead = frame["event_start"] + resolution - frame["belief_time"]
    frame["horizon"] = _bucket(lead, sorted(horizons))
    frame = frame.dropna(subset=["horizon"])
    scale = _naive_scale(actual, resolution)
    results = []
    for (model, horizon), group in frame.groupby(["model", "horizon"], sort=True):
        results.append(_score(model, pd.Timedelta(horizon).to_pytimedelta(), group, scale))
    return results


def _bucket(lead: pd.Series, horizons: list[timedelta]) -> pd.Series:
    """The shortest horizon covering each lead time; NaT beyond the longest."""
    bucket = pd.Series(pd.NaT, index=lead.index, dtype="timedelta64[ns]")
    for horizon in reversed(horizons):
        bucket[lead <= pd.Timedelta(horizon)] = pd.Timedelta(horizon)
    return bucket


def _naive_scale(actual: pd.Series, resolution: pd.Timedelta) -> float | None:
    """Mean absolute change from a day earlier (a step earlier for short series)."""
    day = pd.Timedelta(days=1)
    lag = day if actual.index[-1] - actual.index[0] >= 2 * day else resolution
    earlier = actual.reindex(actual.index - lag).to_numpy()
    changes = np.abs(actual.to_numpy() - earlier)
    changes = changes[~np.isnan(changes)]
    scale = float(changes.mean()) if changes.size else 0.0
    return scale or None


def _score(model: str, horizon: timedelta, group: pd.DataFrame, scale: float | None) -> Accuracy:
    median = group[group["q"] == 0.5]
    error = median["value"] - median["actual"]
    mae = float(error.abs().mean()) if len(median) else None
    residual = group["actual"] - group["value"]
    pinball = np.maximum(group["q"] * residual, (group["q"] - 1) * residual)
    band = group[group["q"].isin([0.1, 0.9])].pivot_table(
        index=["event_start", "belief_time"], columns="q", values=["value", "actual"]
    )
    coverage = None
    if not band.empty and ("value", 0.1) in band and ("value", 0.9) in band:
        band = band.dropna()
        inside = (band[("actual", 0.1)] >= band[("value", 0.1)]) & (
            band[("actual", 0.1)] <= band[("value", 0.9)]
        )
        coverage = float(inside.mean()) if len(band) else None
    return Accuracy(
        model=model,
        horizon=horizon,
        forecasts=len(median),
        mae=mae,
        mase=mae / scale if mae is not None and scale else None,
        bias=float(error.mean()) if len(median) else None,
        pinball=float(pinball.mean()) if len(group) else None,
        coverage=coverage,
    )
