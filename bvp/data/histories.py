"""Many sensors' histories in one query: what a batch of forecasts reads.

The same read as ``latest_beliefs`` (the most recent belief per event, as known at
``as_of``, some sources left out), for each sensor over a window of its own, in one
statement streamed back as binary ``COPY``: a ``LATERAL`` join runs, per sensor, the
backward scan of the primary key that ``latest_beliefs`` runs for one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.belief_copy import (
    COPY_HEADER,
    COPY_TRAILER,
    copy_row_dtype,
    empty_beliefs_frame,
    from_pg_us,
)
from bvp.data.utc import to_utc

_ROWS = copy_row_dtype(("sensor_id", "event_start", "belief_time", "source_id", "event_value"))

# The window's bounds are also given as constants (the earliest start, the end), so
# that the planner prunes the months no sensor reads.
_QUERY = """
SELECT w.sensor_id, b.event_start, b.belief_time, b.source_id, b.event_value
FROM unnest(%(ids)s::integer[], %(starts)s::timestamptz[]) AS w(sensor_id, since)
CROSS JOIN LATERAL (
    SELECT DISTINCT ON (event_start) event_start, belief_time, source_id, event_value
    FROM timed_belief
    WHERE sensor_id = w.sensor_id AND event_start >= w.since
      AND event_start >= %(earliest)s AND event_start < %(end)s
      AND cumulative_probability = 0.5 {conditions}
    ORDER BY event_start DESC, belief_time DESC, source_id DESC
) b
"""


def latest_histories(
    session: Session,
    starts: Mapping[int, datetime],
    end: datetime,
    *,
    as_of: datetime | None = None,
    exclude_sources: Iterable[int] = (),
) -> dict[int, pd.DataFrame]:
    """Sensor id -> its most recent median belief per event in ``[starts[id], end)``,
    as ``latest_beliefs`` returns it for one sensor (indexed by ``event_start``, columns
    ``event_value``, ``belief_time``, ``source_id``; oldest event first). One query."""
    if not starts:
        return {}
    ids = [int(s) for s in starts]
    since = [to_utc(starts[s], "start") for s in starts]
    params: dict[str, object] = {
        "ids": ids,
        "starts": since,
        "earliest": min(since),
        "end": to_utc(end, "end"),
    }
    conditions = ""
    if as_of is not None:
        conditions += " AND belief_time <= %(as_of)s"
        params["as_of"] = to_utc(as_of, "as_of")
    excluded = [int(s) for s in exclude_sources]
    if excluded:
        conditions += " AND source_id <> ALL(%(excluded)s)"
        params["excluded"] = excluded
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        sql = cursor.mogrify(_QUERY.format(conditions=conditions), params).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    finally:
        cursor.close()
    return _split(buffer.getbuffer(), ids)


def _split(raw: memoryview, ids: list[int]) -> dict[int, pd.DataFrame]:
    body = raw[len(COPY_HEADER) : len(raw) - len(COPY_TRAILER)]
    rows = np.frombuffer(body, dtype=_ROWS)
    sensors = rows["sensor_id"].astype(np.int64)
    # oldest event first per sensor (each sensor's rows came newest first)
    order = np.lexsort((rows["event_start"].astype(np.int64), sensors))
    rows, sensors = rows[order], sensors[order]
    histories = {}
    for sensor_id in ids:
        lo, hi = np.searchsorted(sensors, [sensor_id, sensor_id + 1])
        if lo == hi:
            histories[sensor_id] = empty_beliefs_frame()
            continue
        part = rows[lo:hi]
        histories[sensor_id] = pd.DataFrame(
            {
                "event_value": part["event_value"].astype(np.float64),
                "belief_time": pd.DatetimeIndex(from_pg_us(part["belief_time"])).tz_localize("UTC"),
                "source_id": part["source_id"].astype(np.int64),
            },
            index=pd.DatetimeIndex(from_pg_us(part["event_start"]), name="event_start").tz_localize(
                "UTC"
            ),
        )
    return histories
