"""Turning input into aware UTC datetimes; naive datetimes are refused, never guessed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd


class NaiveDatetimeError(ValueError):
    """A datetime without a UTC offset reached a boundary."""

    def __init__(self, value: object, field: str | None = None):
        self.value = value
        self.field = field
        where = f"{field}: " if field else ""
        super().__init__(
            f"{where}{value!s} has no UTC offset; give one explicitly, "
            "e.g. 2024-03-31T02:00:00+01:00 or 2024-03-31T01:00:00Z."
        )


def to_utc(value: datetime | str | pd.Timestamp, field: str | None = None) -> datetime:
    """Return ``value`` as an aware UTC ``datetime``.

    Accepts aware datetimes, pandas Timestamps and ISO 8601 strings with an offset
    (``Z`` included). Raises ``NaiveDatetimeError`` for anything without an offset.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            where = f"{field}: " if field else ""
            raise ValueError(f"{where}{value!r} is not an ISO 8601 datetime.") from None
        value = parsed
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"{field or 'value'}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(value, field)
    return value.astimezone(UTC)


# A time of day followed by an offset: "…T02:00+01:00", "…T01:00:00.5Z", "… 01:00+0100".
OFFSET_AT_END = r"[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d(?::?\d\d)?)$"


def to_utc_index(values, field: str = "event_start") -> pd.DatetimeIndex:
    """Vectorised ``to_utc`` for arrays of aware datetimes or ISO 8601 strings.

    Strings may carry different offsets (a day across a DST change does); every one
    must carry one. Raises ``NaiveDatetimeError`` naming the first naive value.
    """
    index = _aware_index_or_none(values, field)
    if index is None:
        series = pd.Series(np.asarray(values, dtype=object) if len(values) else [], dtype=object)
        is_text = series.map(type).eq(str)
        if is_text.any():
            has_offset = series[is_text].str.strip().str.contains(OFFSET_AT_END, regex=True)
            if not has_offset.all():
                raise NaiveDatetimeError(series[is_text][~has_offset].iloc[0], field)
        naive = series[~is_text].map(lambda v: getattr(v, "tzinfo", None) is None)
        if naive.any():
            raise NaiveDatetimeError(series[~is_text][naive].iloc[0], field)
        try:
            return pd.DatetimeIndex(pd.to_datetime(series, utc=True, format="ISO8601"))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{field}: not ISO 8601 datetimes ({error})") from None
    if index.tz is None:
        if len(index) == 0:
            return index.tz_localize("UTC")
        raise NaiveDatetimeError(index[0], field)
    return index.tz_convert("UTC")


def _aware_index_or_none(values, field: str) -> pd.DatetimeIndex | None:
    """The fast, vectorised cases; None where values must be looked at one by one."""
    if isinstance(values, pd.DatetimeIndex):
        return values
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.DatetimeTZDtype):
        return pd.DatetimeIndex(values)
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype.kind == "M":  # numpy datetime64 carries no offset at all
        if len(array):
            raise NaiveDatetimeError(pd.Timestamp(array[0]), field)
        return pd.DatetimeIndex([], tz="UTC")
    if array.dtype.kind == "O" and len(array) and not isinstance(array[0], str):
        try:  # aware datetimes/Timestamps sharing one zone
            index = pd.DatetimeIndex(array)
        except (ValueError, TypeError):
            return None  # mixed zones or naive ones among them
        return index if index.tz is not None else None
    return None


# Weeks, or days and smaller: months and years have no fixed length. Not pandas' parser:
# it reads P1M as one minute, P0.5D as five days and PT1.5H as 5 h 0 min 1 s.
ISO_DURATION = r"^P(\d+W|(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)$"
LONGEST_DURATION = timedelta(days=36_525)  # pandas' timedeltas end at 292 years
_ISO_DURATION_PARTS = re.compile(
    r"^P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?)$"
)


def parse_duration(text: str, *, zero: bool = False) -> timedelta:
    """'PT6H' -> timedelta(hours=6): the one reader of ISO 8601 durations (API fields, CLI
    options, settings, manifests, sensor attributes). Weeks, days and smaller, in capitals
    as ISO 8601 writes them; longer than zero (or zero when ``zero``), at most 100 years.
    Raises ValueError saying what is wrong."""
    found = _ISO_DURATION_PARTS.match(text.strip()) if isinstance(text, str) else None
    if not found or text.strip().endswith(("P", "T")):
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration of weeks, days or less (e.g. PT15M, PT1H, P1D)"
        )
    parts = {unit: float(number) for unit, number in found.groupdict().items() if number}
    try:
        duration = timedelta(**parts)
    except OverflowError:
        duration = LONGEST_DURATION * 2
    if duration > LONGEST_DURATION:
        raise ValueError(f"{text!r} is longer than 100 years")
    if duration < timedelta(0) or (duration == timedelta(0) and not zero):
        raise ValueError(f"{text!r} must be longer than zero")
    return duration


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (Europe/Amsterdam), as sensors and files use."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
        return False
    return True


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_duration(duration: timedelta) -> str:
    """timedelta(hours=6) -> 'PT6H'; timedelta(days=1) -> 'P1D' (as operators write them)."""
    days, seconds = duration.days, duration.seconds
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    time_part = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    return (
        "P" + date_part + (f"T{time_part}" if time_part else "")
        if (date_part or time_part)
        else "PT0S"
    )
