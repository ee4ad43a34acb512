"""Data quality per sensor and month: expected against received events, gaps, revisions
and how late the data arrived. Measurements only: forecasts are not data received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.models import Sensor
from bvp.data.models.beliefs import measured_events
from bvp.metrics.durations import percentile
from bvp.metrics.months import Month


@dataclass(frozen=True)
class Quality:
    expected: int
    received: int
    completeness: float  # percent
    gaps: int
    longest_gap: timedelta
    revisions: int
    late_p50: timedelta | None
    late_p95: timedelta | None


def sensor_quality(
    session: Session, sensor: Sensor, month: Month, forecasters: list[int]
) -> Quality:
    """One query per sensor: the month's measured events, their belief counts and first
    belief times; the rest is numpy on the sensor's grid."""
    rows = measured_events(session, sensor.id, month.start, month.end, forecasters)
    resolution = pd.Timedelta(sensor.event_resolution)
    expected = int((month.end - month.start) // resolution)
    slots = pd.date_range(month.start, periods=expected, freq=resolution)
    events = pd.DatetimeIndex([r.event_start for r in rows], tz="UTC") if rows else slots[:0]
    present = slots.isin(events)
    received = int(present.sum())
    runs = _missing_runs(present)
    first_beliefs = pd.DatetimeIndex([r.first_belief for r in rows], tz="UTC") if rows else events
    late = pd.Series(first_beliefs - (events + resolution))
    return Quality(
        expected=expected,
        received=received,
        completeness=100.0 * received / expected if expected else 0.0,
        gaps=len(runs),
        longest_gap=(max(runs) * resolution).to_pytimedelta() if runs else timedelta(0),
        revisions=int(sum(r.beliefs for r in rows) - len(rows)),
        late_p50=percentile(late, 0.5),
        late_p95=percentile(late, 0.95),
    )


def _missing_runs(present: np.ndarray) -> list[int]:
    """Lengths of the runs of missing slots."""
    missing = np.concatenate([[False], ~present, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(missing))
    return list(edges[1::2] - edges[::2])
