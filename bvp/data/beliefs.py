"""Set-based time-series I/O: ``save_beliefs`` and ``latest_beliefs``.

Values travel as numpy arrays. Writing is one binary ``COPY`` into a temporary
staging table, one ``INSERT … ON CONFLICT DO NOTHING`` for the new keys and, only if
some keys existed, one ``INSERT … ON CONFLICT DO UPDATE`` for changed values; reading is one
``DISTINCT ON`` query streamed back as binary ``COPY`` and decoded by numpy. No
Python object is made per row on either path.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.models.data_sources import MEASURED_BY_SQL
from bvp.data.partitions import ensure_partitions
from bvp.data.utc import to_utc, to_utc_index

BELIEF_COLUMNS = (
    "sensor_id",
    "event_start",
    "belief_time",
    "source_id",
    "cumulative_probability",
    "event_value",
)
_KEY = BELIEF_COLUMNS[:5]

# PostgreSQL's binary COPY: timestamps are microseconds since 2000-01-01 UTC.
_PG_EPOCH_US = np.int64(946_684_800_000_000)
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_COPY_TRAILER = b"\xff\xff"
_ROW_DTYPE = np.dtype(
    [
        ("n", ">i2"),
        ("l_sensor", ">i4"),
        ("sensor_id", ">i4"),
        ("l_event", ">i4"),
        ("event_start", ">i8"),
        ("l_belief", ">i4"),
        ("belief_time", ">i8"),
        ("l_source", ">i4"),
        ("source_id", ">i4"),
        ("l_cp", ">i4"),
        ("cumulative_probability", ">f8"),
        ("l_value", ">i4"),
        ("event_value", ">f8"),
    ]
)
_ROW_TEMPLATE = np.zeros(1, dtype=_ROW_DTYPE)
_ROW_TEMPLATE["n"] = 6
for _field, _size in (
    ("l_sensor", 4),
    ("l_event", 8),
    ("l_belief", 8),
    ("l_source", 4),
    ("l_cp", 8),
    ("l_value", 8),
):
    _ROW_TEMPLATE[_field] = _size
_READ_DTYPE = np.dtype(
    [
        ("n", ">i2"),
        ("l_event", ">i4"),
        ("event_start", ">i8"),
        ("l_belief", ">i4"),
        ("belief_time", ">i8"),
        ("l_source", ">i4"),
        ("source_id", ">i4"),
        ("l_value", ">i4"),
        ("event_value", ">f8"),
    ]
)

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
ORDER BY {", ".join(_KEY)}
ON CONFLICT ON CONSTRAINT pk_timed_belief DO NOTHING
"""
_UPDATE_CHANGED = f"""
INSERT INTO timed_belief AS tb ({", ".join(BELIEF_COLUMNS)})
SELECT {", ".join(BELIEF_COLUMNS)} FROM {_STAGING}
ORDER BY {", ".join(_KEY)}
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


class BeliefsError(ValueError):
    """Beliefs that cannot be stored; ``field`` and ``index`` say where."""

    def __init__(self, message: str, field: str, index: int | None = None):
        self.field = field
        self.index = index
        where = field if index is None else f"{field}[{index}]"
        super().__init__(f"{where}: {message}")


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
    arrays = _belief_arrays(beliefs, sensor_id, source_id, belief_time, cumulative_probability)
    keep = ~np.isnan(arrays["event_value"])
    skipped = int((~keep).sum())
    arrays = {k: v[keep] for k, v in arrays.items()}
    arrays = _last_per_key(arrays)
    n = len(arrays["event_value"])
    if n == 0:
        return SaveResult(0, 0, 0, skipped)

    ensure_partitions(session, _from_pg_us(arrays["event_start"]))
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        _check_references(cursor, arrays)
        cursor.execute(_CREATE_STAGING)
        cursor.execute(f"TRUNCATE {_STAGING}")
        cursor.copy_expert(
            f"COPY {_STAGING} ({', '.join(BELIEF_COLUMNS)}) FROM STDIN WITH (FORMAT binary)",
            io.BytesIO(_encode_binary_copy(arrays)),
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
    return _decode_latest(buffer.getbuffer())


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


def empty_beliefs_frame() -> pd.DataFrame:
    return _decode_latest(memoryview(_COPY_HEADER + _COPY_TRAILER))


def _decode_latest(raw: memoryview) -> pd.DataFrame:
    body = raw[len(_COPY_HEADER) : len(raw) - len(_COPY_TRAILER)]
    rows = np.frombuffer(body, dtype=_READ_DTYPE)[::-1]  # query was newest-first
    index = pd.DatetimeIndex(_from_pg_us(rows["event_start"]), name="event_start").tz_localize(
        "UTC"
    )
    return pd.DataFrame(
        {
            "event_value": rows["event_value"].astype(np.float64),
            "belief_time": pd.DatetimeIndex(_from_pg_us(rows["belief_time"])).tz_localize("UTC"),
            "source_id": rows["source_id"].astype(np.int64),
        },
        index=index,
    )


def _from_pg_us(values: np.ndarray) -> np.ndarray:
    return (
        (values.astype(np.int64) + _PG_EPOCH_US).astype("datetime64[us]").astype("datetime64[ns]")
    )


def _to_pg_us(index: pd.DatetimeIndex) -> np.ndarray:
    return index.as_unit("us").asi8 - _PG_EPOCH_US


def _encode_binary_copy(arrays: dict[str, np.ndarray]) -> bytes:
    # Field count and lengths are the same in every row: copy a template row, then fill in
    # the values (each assignment byte-swaps a whole column at once).
    rows = np.repeat(_ROW_TEMPLATE, len(arrays["event_value"]))
    for column in BELIEF_COLUMNS:
        rows[column] = arrays[column]
    return _COPY_HEADER + rows.tobytes() + _COPY_TRAILER


def _belief_arrays(
    beliefs: pd.DataFrame | Mapping[str, object],
    sensor_id: int | None,
    source_id: int | None,
    belief_time: datetime | None,
    cumulative_probability: float,
) -> dict[str, np.ndarray]:
    """Validate and normalise input to one array per column (timestamps as PG µs)."""
    if isinstance(beliefs, pd.DataFrame):
        columns = {c: beliefs[c] for c in beliefs.columns}
        if "event_start" not in columns and isinstance(beliefs.index, pd.DatetimeIndex):
            columns["event_start"] = beliefs.index
    else:
        columns = dict(beliefs)
    if "event_start" not in columns or "event_value" not in columns:
        raise BeliefsError(
            "is required", "event_start" if "event_start" not in columns else "event_value"
        )
    event_start = to_utc_index(columns["event_start"], "event_start")
    n = len(event_start)
    scalars = {
        "sensor_id": sensor_id,
        "source_id": source_id,
        "belief_time": belief_time,
        "cumulative_probability": cumulative_probability,
    }
    arrays: dict[str, np.ndarray] = {"event_start": _to_pg_us(event_start)}
    for name, scalar in scalars.items():
        raw = columns.get(name)
        if raw is None:
            if scalar is None:
                raise BeliefsError("is required (as a column or a keyword)", name)
            raw = [scalar] * n if name != "belief_time" else [to_utc(scalar, name)] * n
        if len(raw) != n:
            raise BeliefsError(f"has {len(raw)} values for {n} events", name)
        arrays[name] = raw
    arrays["belief_time"] = _to_pg_us(to_utc_index(arrays["belief_time"], "belief_time"))
    arrays["sensor_id"] = _integers(arrays["sensor_id"], "sensor_id")
    arrays["source_id"] = _integers(arrays["source_id"], "source_id")
    arrays["cumulative_probability"] = _floats(
        arrays["cumulative_probability"], "cumulative_probability"
    )
    bad = np.flatnonzero(
        ~((arrays["cumulative_probability"] > 0) & (arrays["cumulative_probability"] <= 1))
    )
    if bad.size:
        raise BeliefsError("must be in (0, 1]", "cumulative_probability", int(bad[0]))
    values = columns["event_value"]
    if len(values) != n:
        raise BeliefsError(f"has {len(values)} values for {n} events", "event_value")
    arrays["event_value"] = _floats(values, "event_value", allow_nan=True)
    infinite = np.flatnonzero(np.isinf(arrays["event_value"]))
    if infinite.size:
        raise BeliefsError("must be a finite number", "event_value", int(infinite[0]))
    return arrays


def _integers(values, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        try:
            as_float = array.astype(np.float64)
        except (TypeError, ValueError):
            raise BeliefsError("must be integers", field) from None
        bad = np.flatnonzero(np.isnan(as_float) | (as_float != np.round(as_float)))
        if bad.size:
            raise BeliefsError("must be an integer", field, int(bad[0]))
        array = as_float
    return array.astype(np.int32)


def _floats(values, field: str, allow_nan: bool = False) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "f":
        result = array.astype(np.float64, copy=False)
    else:
        result = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        invalid = np.flatnonzero(np.isnan(result) & pd.notna(array))
        if invalid.size:
            raise BeliefsError("must be a number", field, int(invalid[0]))
    if not allow_nan:
        missing = np.flatnonzero(np.isnan(result))
        if missing.size:
            raise BeliefsError("must not be empty", field, int(missing[0]))
    return result


def _last_per_key(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort by key and keep the last occurrence of each (ON CONFLICT needs unique keys)."""
    n = len(arrays["event_value"])
    if n < 2:
        return arrays
    # np.lexsort's primary key is the last one; original position breaks ties.
    order = np.lexsort((np.arange(n), *(arrays[k] for k in reversed(_KEY))))
    ordered = {k: v[order] for k, v in arrays.items()}
    same_as_next = np.ones(n - 1, dtype=bool)
    for k in _KEY:
        same_as_next &= ordered[k][1:] == ordered[k][:-1]
    if not same_as_next.any():
        return ordered
    keep = np.append(~same_as_next, True)
    return {k: v[keep] for k, v in ordered.items()}


def last_measured_event_start(session: Session, sensor_id: int) -> datetime | None:
    """Start of the latest event with a belief not made by a forecaster (or None)."""
    return last_measured_event_starts(session, [sensor_id]).get(sensor_id)


def last_measured_event_starts(session: Session, sensor_ids: Iterable[int]) -> dict:
    """Sensor id -> start of its latest measured event, for those that have one: one
    query, kept by ``save_beliefs`` and a trigger (``NewestMeasurement``)."""
    rows = session.execute(
        text("SELECT sensor_id, event_start FROM newest_measurement WHERE sensor_id = ANY(:ids)"),
        {"ids": [int(i) for i in sensor_ids]},
    )
    return dict(rows.all())


def probabilities_present(
    session: Session, sensor_id: int, start: datetime, end: datetime, sources: list[int]
) -> list[float]:
    """The cumulative probabilities (quantiles) believed for events in the window."""
    return list(
        session.scalars(
            text(
                "SELECT DISTINCT cumulative_probability FROM timed_belief "
                "WHERE sensor_id = :sensor_id AND event_start >= :start AND event_start < :end "
                "AND source_id = ANY(:sources) ORDER BY 1"
            ),
            {
                "sensor_id": int(sensor_id),
                "start": to_utc(start, "start"),
                "end": to_utc(end, "end"),
                "sources": [int(s) for s in sources],
            },
        )
    )
