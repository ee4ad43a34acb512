"""Storing a posted series on a sensor: check the grid, convert the unit, resample, upsert."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult, latest_beliefs, save_beliefs
from bvp.data.models import Sensor
from bvp.data.resampling import ResolutionError, check_steps, to_resolution
from bvp.data.units import convert, parse_unit
from bvp.data.utc import iso_duration, to_utc, utcnow


@dataclass(frozen=True)
class PostedSeries:
    start: datetime  # aware
    resolution: timedelta  # what each value covers
    values: np.ndarray  # float64, NaN where the client sent null
    unit: str
    prior: datetime | None = None  # belief time; default: now

    @property
    def end(self) -> datetime:
        return self.start + self.resolution * len(self.values)


def resolution_from_duration(duration: timedelta, count: int) -> timedelta:
    """Values spread evenly over ``duration``; it must split into whole microseconds."""
    if count == 0:
        raise ResolutionError("no values to spread over the duration", "values")
    microseconds, remainder = divmod(duration // timedelta(microseconds=1), count)
    step = timedelta(microseconds=microseconds)
    if remainder or step <= timedelta(0):
        raise ResolutionError(
            f"{iso_duration(duration)} does not split evenly into {count} values",
            "duration",
        )
    return step


def store_posted_series(
    session: Session, sensor: Sensor, series: PostedSeries, source_id: int
) -> SaveResult:
    """Store ``series`` as beliefs of ``sensor`` by ``source_id``; idempotent for re-posts."""
    start = pd.Timestamp(to_utc(series.start, "start"))
    resolution = sensor.event_resolution
    # Off the grid is refused before anything else. A DST change may move the grid, so
    # every stored event is checked; at the sensor's own resolution those are the posted
    # events, checked once (the grid check is a good part of a small post's time).
    as_posted = series.resolution == resolution and len(series.values) > 0
    if as_posted:
        posted = pd.date_range(start, periods=len(series.values), freq=resolution)
        check_on_grid(posted, resolution, sensor.timezone)
    else:
        check_on_grid(start, resolution, sensor.timezone)
    values = convert(series.values, series.unit, sensor.unit, series.resolution)
    events, values = to_resolution(
        start, values, series.resolution, resolution, parse_unit(sensor.unit).is_rate
    )
    if not as_posted:
        check_on_grid(events, resolution, sensor.timezone)
    already_known = 0
    if series.prior is None:
        # Without an explicit belief time, values this source already believes are not new
        # beliefs: re-posting the same body stores nothing (and triggers no forecasts).
        known = latest_beliefs(
            session, sensor.id, events[0], events[-1] + resolution, source=source_id
        )["event_value"].reindex(events)
        same = known.to_numpy() == values
        already_known = int(same.sum())
        events, values = events[~same], values[~same]
    prior = to_utc(series.prior, "prior") if series.prior is not None else utcnow()
    result = save_beliefs(
        session,
        {"event_start": events, "event_value": values},
        sensor_id=sensor.id,
        source_id=source_id,
        belief_time=prior,
    )
    return replace(result, unchanged=result.unchanged + already_known)


def check_on_grid(
    starts: pd.Timestamp | pd.DatetimeIndex, resolution: timedelta, timezone: str
) -> None:
    """Events of a sensor start on its resolution's grid, counted from local midnight.

    Checked for resolutions that divide an hour. Where the zone's UTC offset changes by
    whole steps (an hour's DST change, a quarter-hour grid) that grid is the same in UTC
    on every day, so checking the first event of a regular series checks them all. Where
    it does not (Lord Howe's 30-minute change, an hourly grid), the grid moves at the
    local midnight after the change: every event is checked then, and a series crossing
    that midnight is refused rather than stored (or read) off the grid. Coarser series
    (2-hourly, daily) are stored in fixed UTC steps from their start; calendar-day grids in
    the sensor's zone (23 and 25 hour days) are not modelled yet.
    """
    if resolution <= timedelta(0) or timedelta(hours=1) % resolution:
        return
    events = pd.DatetimeIndex([starts]) if isinstance(starts, pd.Timestamp) else starts
    if len(events) == 0:
        return
    if not _grid_moves(events, resolution, timezone):
        events = events[:1]
    first = first_off_grid(events, resolution, timezone)
    if first is not None:
        moved = " (the zone's UTC offset changes by less than a step on the way)" if first else ""
        raise ResolutionError(
            f"{events[first].isoformat()} is not on the sensor's {iso_duration(resolution)} "
            f"grid{moved}",
            "end" if first else "start",
        )


def first_off_grid(events: pd.DatetimeIndex, resolution: timedelta, timezone: str) -> int | None:
    """The position of the first event not on a sensor's grid (whole steps of time since
    local midnight, for resolutions dividing an hour; others are not checked), else None.
    Every event is looked at, as irregular events (a file's rows) need; ``check_on_grid``
    knows when one is enough."""
    if resolution <= timedelta(0) or timedelta(hours=1) % resolution or len(events) == 0:
        return None
    local = events.tz_convert(timezone)
    off = np.flatnonzero(((local - local.normalize()) % resolution).to_numpy())
    return int(off[0]) if off.size else None


def _grid_moves(events: pd.DatetimeIndex, resolution: timedelta, timezone: str) -> bool:
    """Whether the zone's UTC offset, in parts of a step, differs anywhere from the local
    midnight before the first event to the last event (only then can the grid move)."""
    before = pd.date_range(events[0] - timedelta(hours=26), events[0], freq="1h")
    probe = before.append(events)
    offsets = probe.tz_convert(timezone).tz_localize(None) - probe.tz_localize(None)
    parts = (offsets % resolution).to_numpy()
    return bool((parts != parts[0]).any())


@dataclass(frozen=True)
class SeriesOut:
    start: datetime
    end: datetime
    resolution: timedelta
    unit: str
    values: np.ndarray  # NaN where nothing is known
    # When each value was believed (NaT where nothing is known); None once resampled.
    belief_times: pd.DatetimeIndex | None = None


def read_series(
    session: Session,
    sensor: Sensor,
    start: datetime,
    end: datetime,
    *,
    resolution: timedelta | None = None,
    unit: str | None = None,
    as_of: datetime | None = None,
    source: int | list[int] | None = None,
    exclude_sources: list[int] | tuple[int, ...] = (),
    cumulative_probability: float = 0.5,
) -> SeriesOut:
    """The latest belief per event on a regular grid from ``start`` (NaN where unknown),
    optionally resampled to ``resolution`` and converted to ``unit``."""
    start_ts = pd.Timestamp(to_utc(start, "start"))
    check_on_grid(start_ts, sensor.event_resolution, sensor.timezone)
    steps = -(-(to_utc(end, "end") - start_ts.to_pydatetime()) // sensor.event_resolution)
    check_steps(steps, "end")
    if resolution and resolution < sensor.event_resolution:
        check_steps(steps * (sensor.event_resolution // resolution))
    grid = pd.date_range(start_ts, periods=steps, freq=sensor.event_resolution)
    check_on_grid(grid, sensor.event_resolution, sensor.timezone)
    beliefs = latest_beliefs(
        session,
        sensor.id,
        grid[0],
        grid[-1] + sensor.event_resolution,
        as_of=as_of,
        source=source,
        exclude_sources=exclude_sources,
        cumulative_probability=cumulative_probability,
    )
    values = beliefs["event_value"].reindex(grid).to_numpy()
    wanted = resolution or sensor.event_resolution
    belief_times = None
    if wanted == sensor.event_resolution:
        belief_times = pd.DatetimeIndex(beliefs["belief_time"].reindex(grid))
    grid, values = to_resolution(
        start_ts, values, sensor.event_resolution, wanted, parse_unit(sensor.unit).is_rate
    )
    if unit:
        values = convert(values, sensor.unit, unit, wanted, sensors="from")
    return SeriesOut(
        grid[0].to_pydatetime(),
        (grid[-1] + wanted).to_pydatetime(),
        wanted,
        unit or sensor.unit,
        values,
        belief_times,
    )
