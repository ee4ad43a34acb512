"""PostgreSQL's binary ``COPY`` format for beliefs, both ways, as numpy arrays.

Writing: one array per column of ``BELIEF_COLUMNS`` becomes the bytes of ``COPY ... FROM
STDIN WITH (FORMAT binary)`` by filling a template row per belief (each assignment
byte-swaps a whole column). Reading: the bytes of ``COPY (SELECT event_start,
belief_time, source_id, event_value ...) TO STDOUT WITH (FORMAT binary)`` become a
DataFrame by one ``np.frombuffer``. No Python object per row either way. This changes
only with the columns the two queries carry (or PostgreSQL's format).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BELIEF_COLUMNS = (
    "sensor_id",
    "event_start",
    "belief_time",
    "source_id",
    "cumulative_probability",
    "event_value",
)

# PostgreSQL's binary COPY: timestamps are microseconds since 2000-01-01 UTC.
PG_EPOCH_US = np.int64(946_684_800_000_000)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
# A row's field types: ids are int4, times int8 (microseconds), numbers float8.
_FIELD_TYPES = {
    "sensor_id": ">i4",
    "event_start": ">i8",
    "belief_time": ">i8",
    "source_id": ">i4",
    "cumulative_probability": ">f8",
    "event_value": ">f8",
}


def copy_row_dtype(columns: tuple[str, ...] | list[str]) -> np.dtype:
    """One binary COPY row of these belief columns, as numpy reads and writes it: the
    field count, then each field's length (``l_<column>``) and value."""
    fields = [("n", ">i2")]
    for column in columns:
        fields += [(f"l_{column}", ">i4"), (column, _FIELD_TYPES[column])]
    return np.dtype(fields)


_ROW_DTYPE = copy_row_dtype(BELIEF_COLUMNS)
_ROW_TEMPLATE = np.zeros(1, dtype=_ROW_DTYPE)
_ROW_TEMPLATE["n"] = len(BELIEF_COLUMNS)
for _column in BELIEF_COLUMNS:
    _ROW_TEMPLATE[f"l_{_column}"] = _ROW_DTYPE[_column].itemsize
# What latest_beliefs reads (the sensor and the probability are the query's own).
_READ_DTYPE = copy_row_dtype(("event_start", "belief_time", "source_id", "event_value"))


def empty_beliefs_frame() -> pd.DataFrame:
    """What ``latest_beliefs`` returns when nothing is found."""
    return decode_beliefs(memoryview(COPY_HEADER + COPY_TRAILER))


def decode_beliefs(raw: memoryview) -> pd.DataFrame:
    """``latest_beliefs``' query result, read newest first, as a DataFrame oldest first."""
    body = raw[len(COPY_HEADER) : len(raw) - len(COPY_TRAILER)]
    rows = np.frombuffer(body, dtype=_READ_DTYPE)[::-1]  # query was newest-first
    index = pd.DatetimeIndex(from_pg_us(rows["event_start"]), name="event_start").tz_localize("UTC")
    return pd.DataFrame(
        {
            "event_value": rows["event_value"].astype(np.float64),
            "belief_time": pd.DatetimeIndex(from_pg_us(rows["belief_time"])).tz_localize("UTC"),
            "source_id": rows["source_id"].astype(np.int64),
        },
        index=index,
    )


def from_pg_us(values: np.ndarray) -> np.ndarray:
    """PostgreSQL's microseconds since 2000 as (naive UTC) datetime64[ns]."""
    return (values.astype(np.int64) + PG_EPOCH_US).astype("datetime64[us]").astype("datetime64[ns]")


def to_pg_us(index: pd.DatetimeIndex) -> np.ndarray:
    """An aware index as PostgreSQL's microseconds since 2000."""
    return index.as_unit("us").asi8 - PG_EPOCH_US


def encode_beliefs(arrays: dict[str, np.ndarray]) -> bytes:
    """One array per column of ``BELIEF_COLUMNS`` (timestamps as ``to_pg_us``) as the
    bytes ``COPY ... FROM STDIN WITH (FORMAT binary)`` reads."""
    # Field count and lengths are the same in every row: copy a template row, then fill in
    # the values (each assignment byte-swaps a whole column at once).
    rows = np.repeat(_ROW_TEMPLATE, len(arrays["event_value"]))
    for column in BELIEF_COLUMNS:
        rows[column] = arrays[column]
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER
