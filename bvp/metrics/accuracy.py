"""Forecast accuracy per sensor, model and horizon for a month.

Every stored forecast about an event of the month counts, from every origin: a forecast
made at origin ``t`` for the event ``e`` has the horizon ``e + resolution - t`` and falls
in the shortest configured horizon that covers it (PT1H, PT6H, P1D by default). It is
scored against the latest measurement of its event:

- MAE and bias (forecast minus measured) of the median;
- MASE: the MAE over one scale per sensor and month, the day-ago naive MAE over the
  four weeks of measurements before the month (none: no MASE);
- pinball loss averaged over the stored quantiles (p10, p50, p90);
- coverage: the share of measurements inside the p10-p90 band, where both are stored.

The scores are ``bvp.data.scores.score``: the same numbers as backtests and the choice of
model give.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.beliefs import latest_beliefs
from bvp.data.models import Sensor
from bvp.data.models.beliefs import forecasts_in_window
from bvp.data.scores import mase_scale, score
from bvp.metrics.months import Month

SCALE_WINDOW = timedelta(weeks=4)


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
    frame = forecasts_in_window(session, sensor.id, month.start, month.end)
    if frame.empty or actual.empty:
        return []
    frame["actual"] = actual.reindex(pd.DatetimeIndex(frame["event_start"])).to_numpy()
    frame = frame.dropna(subset=["actual"])
    lead = frame["event_start"] + resolution - frame["belief_time"]
    frame["horizon"] = _bucket(lead, sorted(horizons))
    frame = frame.dropna(subset=["horizon"])
    before = latest_beliefs(
        session, sensor.id, month.start - SCALE_WINDOW, month.start, exclude_sources=forecasters
    )["event_value"]
    scale = mase_scale(before, pd.Timestamp(month.start), resolution)
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


def _score(model: str, horizon: timedelta, group: pd.DataFrame, scale: float) -> Accuracy:
    keys = ["event_start", "belief_time"]
    quantiles = group.pivot_table(index=keys, columns="q", values="value", aggfunc="last")
    actual = group.groupby(keys)["actual"].first().reindex(quantiles.index)
    if 0.5 not in quantiles:
        quantiles[0.5] = np.nan  # no median stored: nothing to score it on
    scores = score(quantiles, actual.to_numpy(), scale)
    return Accuracy(
        model=model,
        horizon=horizon,
        forecasts=scores["points"],
        **{name: _plain(scores[name]) for name in ("mae", "mase", "bias", "pinball", "coverage")},
    )


def _plain(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
