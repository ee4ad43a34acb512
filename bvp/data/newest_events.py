"""The newest events of many sensors at once, for pages that list a fleet: the sensors
page (each sensor's newest measured value) and the ingestion status (each source's
newest event).

Each is one query for any number of sensors, bounded by ``newest_measurement`` (kept by
``save_beliefs``, see ``bvp.data.models.beliefs``): no measured event lies beyond a
sensor's newest measurement, so the search starts there instead of scanning backwards
past the forecasts above it. ``event_start`` is also bounded by literal times, so that
PostgreSQL plans only the monthly partitions that can hold the answer: a query with an
open end is planned over every partition (DEVELOPERS.md, "partitioned by month").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.models.beliefs import last_measured_event_starts
from bvp.data.models.data_sources import MEASURED_BY_SQL

# How far below the sensors' newest measurements a source's newest event is looked for
# first; the pairs not found there are looked for again without a lower bound.
FIRST_LOOK = timedelta(days=35)

_VALUES_AT = f"""
SELECT nm.sensor_id, nm.event_start, latest.event_value
FROM unnest(CAST(:ids AS integer[]), CAST(:starts AS timestamptz[])) nm(sensor_id, event_start)
LEFT JOIN LATERAL (
    SELECT tb.event_value FROM timed_belief tb
    JOIN data_source ds ON ds.id = tb.source_id AND {MEASURED_BY_SQL}
    WHERE tb.sensor_id = nm.sensor_id AND tb.event_start = nm.event_start
    AND tb.event_start BETWEEN :first AND :last AND tb.cumulative_probability = 0.5
    ORDER BY tb.belief_time DESC, tb.source_id DESC LIMIT 1
) latest ON true
"""

_NEWEST_OF_SOURCE = """
SELECT p.sensor_id, p.source_id, newest.event_start
FROM unnest(CAST(:sensors AS integer[]), CAST(:sources AS integer[])) p(sensor_id, source_id)
JOIN newest_measurement nm ON nm.sensor_id = p.sensor_id
CROSS JOIN LATERAL (
    SELECT tb.event_start FROM timed_belief tb
    WHERE tb.sensor_id = p.sensor_id AND tb.source_id = p.source_id
    AND tb.event_start <= nm.event_start AND tb.event_start >= :first AND tb.event_start <= :last
    ORDER BY tb.event_start DESC LIMIT 1
) newest
"""
# -infinity: the lower bound of the second look (no partition is planned away by it).
NO_LOWER_BOUND = datetime(1, 1, 1, tzinfo=UTC)


def newest_measured_values(
    session: Session, sensor_ids: Iterable[int]
) -> dict[int, tuple[datetime, float | None]]:
    """Sensor id -> the start of its newest measured event and the latest measured value
    (median) for it, for those that have one. Two queries however many sensors: their
    newest measurements, then the values at exactly those events, in the months that
    hold them."""
    starts = last_measured_event_starts(session, sensor_ids)
    if not starts:
        return {}
    rows = session.execute(
        text(_VALUES_AT),
        {
            "ids": list(starts),
            "starts": list(starts.values()),
            "first": min(starts.values()),
            "last": max(starts.values()),
        },
    )
    return {sensor_id: (start, value) for sensor_id, start, value in rows}


def newest_events(
    session: Session, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], datetime]:
    """(sensor id, source id) -> the start of the newest event that source holds a belief
    about on that sensor, for the pairs that have one. For sources that measure (users,
    importers, scripts; not BVP's forecasters, whose events lie beyond): a measured event
    is never newer than its sensor's newest measurement, where the search starts.

    At most three queries however many pairs: the newest of their sensors' newest
    measurements; the pairs' newest events within ``FIRST_LOOK`` below it (nearly always
    all of them), planned over the months of that window only; and, without a lower
    bound, those of the pairs not found there.
    """
    pairs = list(dict.fromkeys((int(sensor), int(source)) for sensor, source in pairs))
    last = session.scalar(
        text("SELECT max(event_start) FROM newest_measurement WHERE sensor_id = ANY(:ids)"),
        {"ids": list({sensor for sensor, _ in pairs})},
    )
    if last is None:  # no measurement at all
        return {}
    first_look = last - FIRST_LOOK
    found = _newest_of_sources(session, pairs, first_look, last)
    missing = [pair for pair in pairs if pair not in found]
    if missing:  # older than the first look, wherever they are
        found.update(_newest_of_sources(session, missing, NO_LOWER_BOUND, first_look))
    return found


def _newest_of_sources(
    session: Session, pairs: list[tuple[int, int]], first: datetime, last: datetime
) -> dict[tuple[int, int], datetime]:
    rows = session.execute(
        text(_NEWEST_OF_SOURCE),
        {
            "sensors": [sensor for sensor, _ in pairs],
            "sources": [source for _, source in pairs],
            "first": first,
            "last": last,
        },
    )
    return {(sensor, source): start for sensor, source, start in rows}
