"""Job ids: each names what its job works on, so the same work is never queued twice
while it waits, and anyone can tell a job's sensor (and a forecast's window) from its id.

The one place their format is written: everything else reads ids through these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bvp.data.utc import iso_duration, to_utc

FORECAST_PREFIX = "forecast-"
_ORIGIN = "%Y%m%dT%H%M%SZ"
_FORECAST = re.compile(r"^forecast-s(\d+)-h(\d+)-o(\d{8}T\d{6}Z)$")
_SENSOR_IN_JOB_ID = re.compile(r"^(?:forecast|select-model|train-model)-s(\d+)(?:-|$)")


def forecast_job_id(sensor_id: int, horizon: timedelta, origin: datetime) -> str:
    origin = to_utc(origin, "origin")
    return f"{FORECAST_PREFIX}s{sensor_id}-h{int(horizon.total_seconds())}-o{origin:{_ORIGIN}}"


def model_selection_job_id(sensor_id: int) -> str:
    return f"select-model-s{sensor_id}"


def training_job_id(sensor_id: int, horizon: timedelta) -> str:
    return f"train-model-s{sensor_id}-{iso_duration(horizon)}"


def sensor_of_job(job_id: str) -> int | None:
    """The sensor a BVP job id names (every job id says what it works on)."""
    found = _SENSOR_IN_JOB_ID.match(job_id)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class ForecastWindow:
    """What a forecasting job forecasts: a sensor's events from ``origin`` to
    ``origin + horizon``, as known at ``origin``."""

    sensor_id: int
    horizon: timedelta
    origin: datetime


def forecast_window(job_id: str) -> ForecastWindow | None:
    """The window a forecasting job's id names; None for any other id."""
    found = _FORECAST.match(job_id)
    if not found:
        return None
    sensor, seconds, origin = found.groups()
    try:
        start = datetime.strptime(origin, _ORIGIN).replace(tzinfo=UTC)
    except ValueError:  # 20241399T..., shaped like a date but none
        return None
    return ForecastWindow(int(sensor), timedelta(seconds=int(seconds)), start)
