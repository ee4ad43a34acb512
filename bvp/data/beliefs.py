"""Set-based time-series I/O: ``save_beliefs`` and ``latest_beliefs``.

Values travel as numpy arrays. Writing is one binary ``COPY`` into a temporary
staging table, one ``INSERT … ON CONFLICT DO NOTHING`` for the new keys and, only if
some keys existed, one ``INSERT … ON CONFLICT DO UPDATE`` for changed values; reading is one
``DISTINCT ON`` query streamed back as binary ``COPY`` and decoded by numpy. No
Python object is made per row on either path.

The bytes of both ``COPY`` formats are ``bvp.data.belief_copy``; what ``save_beliefs``
accepts, and the errors that name a field and index, ``bvp.data.belief_input``; other
questions about stored beliefs, the functions beside ``TimedBelief``
(``bvp.data.models.beliefs``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.belief_copy import BELIEF_COLUMNS, decode_beliefs, encode_beliefs, from_pg_us
from bvp.data.belief_input import BELIEF_KEY, BeliefsError, belief_arrays, last_per_key
from bvp.data.models.data_sources import MEASURED_BY_SQL
from bvp.data.partitions import ensure_partitions
from bvp.data.utc import to_utc

_STAGING = "bvp_belief_staging"
_CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (
    sensor_id integer NOT NULL,
    event_start timestamptz NOT NULL,
    belief_time timestamptz NOT NULL,
    source_id integer NOT NULL,
    cumulative_probability double precision NOT NULL,
    event_value double precision NOT NULL
) ON COMMIT DROP
"""
# Two statements, because a partitioned table cannot return xmax (which would tell an
# inserted row from an updated one). New keys are inserted first; only if some keys
# existed does the second statement update the changed values (it also inserts any key
# deleted in between). Both take row locks in one order: overlapping writers cannot
# deadlock. The second statement runs on a new snapshot, so a concurrent writer's
# committed value is overwritten, never silently kept: the last writer wins.
_INSERT_NEW = f"""
INSERT INTO timed_belief ({", ".join(BELIEF_COLUMNS)})
SELECT {", ".join(BELIEF_COLUMNS)} FROM {_STAGING}
ORDER BY {", ".join(BELIEF_KEY)}
ON CONFLICT ON CONSTRAINT pk_timed_belief DO NOTHING
"""
_UPDATE_CHANGED = f"""
INSERT INTO timed_belief AS tb ({", ".join(BELIEF_COLUMNS)})
SELECT {", ".join(BELIEF_COLUMNS)} FROM {_STAGING}
ORDER BY {", ".join(BELIEF_KEY)}
ON CONFLICT ON CONSTRAINT pk_timed_belief
DO UPDATE SET event_value = EXCLUDED.event_value,
    recorded_at = EXCLUDED.recorded_at, recorded_txid = EXCLUDED.recorded_txid
WHERE tb.event_value IS DISTINCT FROM EXCLUDED.event_value
"""

# The sensors' newest measured events move forward with what was just stored (a
# forecaster's beliefs are not measurements). Rows locked in sensor order, as above.
_NOTE_NEWEST_MEASUREMENTS = f"""
INSERT INTO newest_measurement AS nm (sensor_id, event_start)
SELECT s.sensor_id, max(s.event_start) FROM {_STAGING} s
JOIN data_source ds ON ds.id = s.source_id AND {MEASURED_BY_SQL}
GROUP BY s.sensor_id
ORDER BY s.sensor_id
ON CONFLICT (sensor_id) DO UPDATE SET event_start = EXCLUDED.event_start
WHERE nm.event_start < EXCLUDED.event_start
"""


@dataclass(frozen=True)
class SaveResult:
    created: int
    updated: int
    unchanged: int
    skipped_nulls: int = 0

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged


def save_beliefs(
    session: Session,
    beliefs: pd.DataFrame | Mapping[str, object],
    *,
    sensor_id: int | None = None,
    source_id: int | None = None,
    belief_time: datetime | None = None,
    cumulative_probability: float = 0.5,
) -> SaveResult:
    """Store beliefs idempotently: a key written again only updates a changed value.

    ``beliefs`` is a DataFrame (``event_start`` as column or as aware DatetimeIndex)
    or a mapping of equal-length arrays, with the columns of ``BELIEF_COLUMNS``;
    missing columns are filled from the keyword scalars. NaN/None values are skipped
    (counted in ``skipped_nulls``). Within one call the last duplicate key wins.
    Runs inside the caller's transaction; commits nothing.
    """
    arrays = belief_arrays(beliefs, sensor_id, source_id, belief_time, cumulative_probability)
    keep = ~np.isnan(arrays["event_value"])
    skipped = int((~keep).sum())
    arrays = {k: v[keep] for k, v in arrays.items()}
    arrays = last_per_key(arrays)
    n = len(arrays["event_value"])
    if n == 0:
        return SaveResult(0, 0, 0, skipped)

    ensure_partitions(session, from_pg_us(arrays["event_start"]))
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        _check_references(cursor, arrays)
        cursor.execute(_CREATE_STAGING)
        cursor.execute(f"TRUNCATE {_STAGING}")
        cursor.copy_expert(
            f"COPY {_STAGING} ({', '.join(BELIEF_COLUMNS)}) FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(encode_beliefs(arrays)),
        )
        cursor.execute(_INSERT_NEW)
        created = cursor.rowcount
        updated = 0
        if created < n:
            cursor.execute(_UPDATE_CHANGED)
            updated = cursor.rowcount
        cursor.execute(_NOTE_NEWEST_MEASUREMENTS)
    finally:
        cursor.close()
    return SaveResult(created, updated, n - created - updated, skipped)


_LATEST_BELIEF = "SELECT DISTINCT ON (event_start) event_start, belief_time, source_id, event_value"
_EVERY_BELIEF = "SELECT event_start, belief_time, source_id, event_value"


def latest_beliefs(
    session: Session,
    sensor_id: int,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    source: int | Iterable[int] | None = None,
    exclude_sources: Iterable[int] = (),
    cumulative_probability: float = 0.5,
    every_belief: bool = False,
) -> pd.DataFrame:
    """The most recent belief per event with ``start <= event_start < end``.

    With ``as_of``, only beliefs formed at or before it count (what was known then).
    With ``source``, only beliefs from that source id (or ids); beliefs of
    ``exclude_sources`` never count. One query; returns a
    DataFrame indexed by aware UTC ``event_start`` with columns ``event_value``,
    ``belief_time`` and ``source_id``. Ties in belief time go to the higher source id.

    With ``every_belief``, every belief about each event instead (oldest first per
    event): what a forecast needs to read a regressor as it was known at any origin.
    """
    conditions = [
        "sensor_id = %(sensor_id)s",
        "event_start >= %(start)s",
        "event_start < %(end)s",
        "cumulative_probability = %(cp)s",
    ]
    params: dict[str, object] = {
        "sensor_id": int(sensor_id),
        "start": to_utc(start, "start"),
        "end": to_utc(end, "end"),
        "cp": float(cumulative_probability),
    }
    if as_of is not None:
        conditions.append("belief_time <= %(as_of)s")
        params["as_of"] = to_utc(as_of, "as_of")
    if source is not None:
        conditions.append("source_id = ANY(%(sources)s)")
        params["sources"] = [int(source)] if isinstance(source, int) else [int(s) for s in source]
    if exclude_sources:
        conditions.append("source_id <> ALL(%(excluded)s)")
        params["excluded"] = [int(s) for s in exclude_sources]
    # Newest first on both columns: a backward scan of the primary key, no sort.
    columns = _EVERY_BELIEF if every_belief else _LATEST_BELIEF
    query = (
        f"{columns} FROM timed_belief WHERE {' AND '.join(conditions)} "
        "ORDER BY event_start DESC, belief_time DESC, source_id DESC"
    )
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        sql = cursor.mogrify(query, params).decode()
        buffer = io.BytesIO()
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)", buffer)
    finally:
        cursor.close()
    return decode_beliefs(buffer.getbuffer())


def _check_references(cursor, arrays: dict[str, np.ndarray]) -> None:
    """Every sensor and source exists; lock them like a foreign key would (see models)."""
    for table, field in (("sensor", "sensor_id"), ("data_source", "source_id")):
        wanted = np.unique(arrays[field])
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) FOR KEY SHARE", (wanted.tolist(),)
        )
        missing = np.setdiff1d(wanted, [row[0] for row in cursor.fetchall()])
        if missing.size:
            first = int(np.flatnonzero(arrays[field] == missing[0])[0])
            raise BeliefsError(
                f"{table.replace('_', ' ')} {missing[0]} does not exist", field, first
            )
