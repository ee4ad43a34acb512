"""A sensor's statistics: first and last event, count, min, max, mean and the share of
missing slots, per data source and for all its measurements together.

One statement, set-based: the latest belief per event and source is found once (the
primary key gives the rows in event order; only each event's few beliefs are sorted),
aggregated per source, and the latest of those per event among the sources that are not
forecasters is aggregated again as "measured". No row reaches Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.models import Sensor
from bvp.data.models.data_sources import MEASURED_BY_SQL
from bvp.data.utc import to_utc

# The latest belief per event and source; per event over the measured sources, the latest
# of those (ties in belief time to the higher source id, as ``latest_beliefs``). The
# window's conditions are filled in by ``_query``.
_STATISTICS = f"""
WITH latest AS (
    SELECT DISTINCT ON (event_start, source_id) event_start, source_id, belief_time, event_value
    FROM timed_belief
    WHERE sensor_id = :sensor_id AND cumulative_probability = 0.5 {{window}}
    ORDER BY event_start, source_id, belief_time DESC
), measured AS (
    SELECT DISTINCT ON (l.event_start) l.event_start, l.event_value
    FROM latest l JOIN data_source ds ON ds.id = l.source_id AND {MEASURED_BY_SQL}
    ORDER BY l.event_start, l.belief_time DESC, l.source_id DESC
)
SELECT l.source_id, ds.name, ds.type, min(l.event_start) AS first_event_start,
       max(l.event_start) AS last_event_start, count(*) AS events,
       min(l.event_value) AS min_value, max(l.event_value) AS max_value,
       avg(l.event_value) AS mean_value
FROM latest l JOIN data_source ds ON ds.id = l.source_id
GROUP BY l.source_id, ds.name, ds.type
UNION ALL
SELECT NULL, NULL, NULL, min(event_start), max(event_start), count(*),
       min(event_value), max(event_value), avg(event_value)
FROM measured
ORDER BY 1 NULLS FIRST
"""  # noqa: S608 - constants only


@dataclass(frozen=True)
class SeriesStatistics:
    """One source's series (or all measurements): values in the sensor's unit."""

    first_event_start: datetime
    last_event_start: datetime
    count: int  # events with a value
    min: float
    max: float
    mean: float
    slots: int  # events the sensor's resolution has in the span counted
    share_missing: float  # 1 - count / slots


@dataclass(frozen=True)
class SourceStatistics(SeriesStatistics):
    source_id: int = 0
    source: str = ""
    source_type: str = ""


@dataclass(frozen=True)
class SensorStatistics:
    sensor_id: int
    unit: str
    resolution: timedelta
    start: datetime | None
    end: datetime | None
    measured: SeriesStatistics | None  # None: no measurement (in the window)
    sources: list[SourceStatistics]


def sensor_statistics(
    session: Session, sensor: Sensor, start: datetime | None = None, end: datetime | None = None
) -> SensorStatistics:
    """Statistics of ``sensor``'s values (the median, cumulative probability 0.5) with
    ``start <= event_start < end`` (either bound optional), per source over that source's
    latest belief per event, and "measured" over the latest belief per event among all
    sources but forecasters (what GET .../data reads).

    The share missing counts the slots of the sensor's resolution in the window, or where
    a bound is not given, from the series' first event or to the end of its last.
    Without ``start`` the query is planned over every monthly partition (a few ms).
    """
    start = to_utc(start, "start") if start is not None else None
    end = to_utc(end, "end") if end is not None else None
    rows = session.execute(*_query(sensor.id, start, end)).all()
    resolution = sensor.event_resolution
    measured = None
    sources = []
    for row in rows:
        if row.events == 0:
            continue  # no measurement: the aggregate over no rows
        figures = _figures(row, resolution, start, end)
        if row.source_id is None:
            measured = SeriesStatistics(**figures)
        else:
            sources.append(
                SourceStatistics(
                    **figures, source_id=row.source_id, source=row.name, source_type=row.type
                )
            )
    return SensorStatistics(sensor.id, sensor.unit, resolution, start, end, measured, sources)


def _query(sensor_id: int, start: datetime | None, end: datetime | None):
    window = ""
    params: dict[str, object] = {"sensor_id": sensor_id}
    if start is not None:
        window += " AND event_start >= :start"
        params["start"] = start
    if end is not None:
        window += " AND event_start < :end"
        params["end"] = end
    return text(_STATISTICS.format(window=window)), params


def _figures(row, resolution: timedelta, start: datetime | None, end: datetime | None) -> dict:
    first, last = row.first_event_start, row.last_event_start
    slots = count_slots(first, resolution, start or first, end or last + resolution)
    return {
        "first_event_start": first,
        "last_event_start": last,
        "count": row.events,
        "min": row.min_value,
        "max": row.max_value,
        "mean": row.mean_value,
        "slots": slots,
        "share_missing": 1 - row.events / slots,
    }


def count_slots(anchor: datetime, resolution: timedelta, start: datetime, end: datetime) -> int:
    """Events of the grid through ``anchor`` (an event of the sensor) that start in
    [start, end): ceil((end - anchor) / step) - ceil((start - anchor) / step)."""
    step = resolution // timedelta(microseconds=1)
    after_start = -(-((start - anchor) // timedelta(microseconds=1)) // step)
    after_end = -(-((end - anchor) // timedelta(microseconds=1)) // step)
    return max(after_end - after_start, 0)
