"""What every importer does: read a file into a ``Table`` of UTC event starts and float
columns, refusing what it cannot read with the row and column at fault.

Timestamps must carry a UTC offset, unless the importer's ``timezone`` option says which
local time the file is in; local times that do not exist or happen twice on a DST change
are refused, never guessed. Values must be numbers; empty cells are skipped.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bvp.data.utc import OFFSET_AT_END
from bvp.ingestion.fields import Duration, TimeZone, Unit


class ImportFileError(ValueError):
    """The file cannot be imported; the message names the file's row and column."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnTarget(Strict):
    sensor: str  # a key under the manifest's ``sensors``
    unit: Unit | None = None  # the file's unit; default: the sensor's


class BeliefTime(Strict):
    """When the values became known.

    ``event_end``: at the end of each event plus ``lag`` (measurements);
    ``column``: a timestamp column of the file (e.g. a publication time);
    ``fetched_at``: when the file was fetched.
    """

    rule: Literal["event_end", "column", "fetched_at"] = "event_end"
    lag: Duration = "PT0S"
    column: str | None = None

    @model_validator(mode="after")
    def _column_given(self) -> BeliefTime:
        if (self.rule == "column") != (self.column is not None):
            raise ValueError("the 'column' rule needs a column, and only it takes one")
        return self


class TableOptions(Strict):
    timestamp_column: str
    timezone: TimeZone | None = None  # the local time of offset-less timestamps
    columns: Annotated[dict[str, ColumnTarget], Field(min_length=1)]
    belief_time: BeliefTime = BeliefTime()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``columns: {price: day_ahead_price}`` means ``{price: {sensor: day_ahead_price}}``."""
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            columns = {
                k: {"sensor": v} if isinstance(v, str) else v for k, v in data["columns"].items()
            }
            data = {**data, "columns": columns}
        return data

    @property
    def wanted_columns(self) -> list[str]:
        extra = [self.belief_time.column] if self.belief_time.column else []
        return list(dict.fromkeys([self.timestamp_column, *self.columns, *extra]))


@dataclass
class Table:
    """What an importer read: one UTC event start per row and the wanted columns."""

    rows: int
    event_start: pd.DatetimeIndex
    values: dict[str, np.ndarray]  # column -> float64, NaN where empty
    belief_time: pd.DatetimeIndex | None = None  # per row, for the 'column' rule


FileInput = str | IO[bytes]  # a local path (fastest) or an open binary stream


class Importer(ABC):
    Options: ClassVar[type[TableOptions]] = TableOptions
    row_word: ClassVar[str] = "row"
    first_row: ClassVar[int] = 1

    def __init__(self, options: dict[str, Any]):
        self.options = self.Options.model_validate(options)

    @abstractmethod
    def read_columns(self, file: FileInput) -> dict[str, pa.ChunkedArray | pa.Array]:
        """The wanted columns, as Arrow arrays of equal length."""

    def row(self, index: int) -> str:
        return f"{self.row_word} {index + self.first_row}"

    def read(self, file: FileInput) -> Table:
        options = self.options
        columns = self.read_columns(file)
        missing = [c for c in options.wanted_columns if c not in columns]
        if missing:
            raise ImportFileError(
                f"missing column(s) {', '.join(map(repr, missing))}; "
                f"the file has: {', '.join(map(repr, columns)) or 'no columns'}"
            )
        rows = len(columns[options.timestamp_column])
        if rows == 0:  # an empty export is not an error: there was nothing to say
            empty = pd.DatetimeIndex([], tz="UTC").as_unit("ns")
            return Table(0, empty, {c: np.empty(0) for c in options.columns}, None)
        event_start = timestamps(
            columns[options.timestamp_column], options.timestamp_column, options.timezone, self.row
        )
        event_start = event_start.as_unit("ns")
        values = {c: numbers(columns[c], c, self.row) for c in options.columns}
        belief_time = None
        if options.belief_time.column:
            column = options.belief_time.column
            belief_time = timestamps(columns[column], column, options.timezone, self.row)
            belief_time = belief_time.as_unit("ns")
        return Table(rows, event_start, values, belief_time)


# An offset after a time of day: "2016-10-14" is a date, not a time at UTC-14.
_OFFSET = re.compile(OFFSET_AT_END)


def timestamps(
    array: pa.ChunkedArray | pa.Array, column: str, timezone: str | None, row: Callable[[int], str]
) -> pd.DatetimeIndex:
    """Aware UTC timestamps from an Arrow column of timestamps or ISO 8601 text."""
    if array.null_count:
        first = pc.index(pc.is_null(array), True).as_py()
        raise ImportFileError(f"{row(first)}, column {column!r}: no timestamp")
    kind = array.type
    if pa.types.is_timestamp(kind):
        index = pd.DatetimeIndex(array.to_pandas())
        if kind.tz is not None:
            return index.tz_convert("UTC")
        return _localize(index, timezone, row, column, index.astype(str))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pd.Series(array.to_pandas(), dtype=object)
        text = text.str.strip()
        has_offset = text.str.contains(_OFFSET, regex=True)
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        if parsed.isna().any():
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise ImportFileError(
                f"{row(first)}, column {column!r}: {text.iloc[first]!r} is not an ISO 8601 "
                "timestamp"
            )
        if has_offset.all():
            return pd.DatetimeIndex(parsed)
        if has_offset.any():
            first = int(np.flatnonzero(~has_offset.to_numpy())[0])
            raise ImportFileError(
                f"{row(first)}, column {column!r}: {text.iloc[first]!r} has no UTC offset "
                "while other rows have one"
            )
        naive = pd.DatetimeIndex(parsed.dt.tz_localize(None))
        return _localize(naive, timezone, row, column, text)
    _refuse_undecodable(array, column, row)
    raise ImportFileError(f"column {column!r}: expected timestamps, found {kind}")


def _localize(
    naive: pd.DatetimeIndex, timezone: str | None, row, column: str, shown: pd.Series | pd.Index
) -> pd.DatetimeIndex:
    if timezone is None:
        raise ImportFileError(
            f"{row(0)}, column {column!r}: {str(shown[0])!r} has no UTC offset; give one in "
            "the file or set the importer's 'timezone' option"
        )
    # The repeated hour of an autumn DST change is told apart by the rows' order (its
    # first pass, then its second), as a local-time export lists it; a repeated hour that
    # cannot be told apart that way, or a spring hour that does not exist, is refused.
    # pandas raises pytz's AmbiguousTimeError/NonExistentTimeError: not ValueErrors.
    for ambiguous in ("raise", "infer"):
        try:
            localized = naive.tz_localize(timezone, ambiguous=ambiguous, nonexistent="raise")
            return localized.tz_convert("UTC")
        except Exception:
            continue
    # Try each row alone only when the whole column fails: that finds the row to name.
    for i, moment in enumerate(naive):
        try:
            moment.tz_localize(timezone, ambiguous="raise", nonexistent="raise")
        except Exception:
            raise ImportFileError(
                f"{row(i)}, column {column!r}: {str(shown[i])!r} does not exist or happens twice "
                f"in {timezone} (a DST change); give it with its UTC offset"
            ) from None
    raise AssertionError("unreachable")


def numbers(
    array: pa.ChunkedArray | pa.Array, column: str, row: Callable[[int], str]
) -> np.ndarray:
    """float64 values, NaN where empty; text that is not a number is refused."""
    kind = array.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False)
    if pa.types.is_null(kind):
        return np.full(len(array), np.nan)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pd.Series(array.to_pandas(), dtype=object)
        parsed = pd.to_numeric(text, errors="coerce")
        bad = parsed.isna() & text.notna() & (text.str.strip() != "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise ImportFileError(
                f"{row(first)}, column {column!r}: {text.iloc[first]!r} is not a number"
            )
        return parsed.to_numpy(dtype=float)
    _refuse_undecodable(array, column, row)
    raise ImportFileError(f"column {column!r}: expected numbers, found {kind}")


def _refuse_undecodable(array, column: str, row: Callable[[int], str]) -> None:
    """Arrow reads text that is not valid UTF-8 as binary: name the first such cell."""
    if not (pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type)):
        return
    for i, cell in enumerate(array.to_pylist()):
        try:
            cell is None or cell.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{row(i)}, column {column!r}: {cell!r} is not UTF-8 text; "
                "set the importer's 'encoding' option"
            ) from None
