"""Marshmallow fields for time series: ISO 8601 durations and fast lists of numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields
from werkzeug.datastructures import FileStorage

from bvp.data.utc import ISO_DURATION, is_time_zone, iso_duration, parse_duration


class File(Upload):
    """An uploaded file (multipart), documented as binary; anything else is refused."""

    def _deserialize(self, value, attr, data, **kwargs) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise ValidationError("Not a file: send it as a file part of a multipart body.")
        return value


class Duration(fields.String):
    """An ISO 8601 duration such as PT15M or P1D, as a positive timedelta."""

    def __init__(self, **kwargs):
        metadata = {
            "format": "duration",
            "pattern": ISO_DURATION,
            "example": "PT15M",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> timedelta:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_duration(text)
        except ValueError as error:
            raise ValidationError(f"{str(error)[:1].upper()}{str(error)[1:]}.") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso_duration(pd.Timedelta(value).to_pytimedelta())


# What BVP can store and compute with: pandas' timestamps end in 1677 and 2262.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class AwareDateTime(fields.AwareDateTime):
    """An ISO 8601 datetime with a UTC offset (a naive one is refused), 1900 to 2200."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_range = EARLIEST <= moment <= LATEST
        except OverflowError:  # year 1 or 9999 with an offset has no UTC equivalent
            in_range = False
        if not in_range:
            raise ValidationError("Must be from 1900-01-01 to 2200-01-01 (UTC).")
        return moment


class TimeZone(fields.String):
    """An IANA time zone name such as Europe/Amsterdam."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_time_zone(text):
            raise ValidationError("Not an IANA time zone (e.g. Europe/Amsterdam).")
        return text


_NUMBER_TYPES = {int, float, type(None)}


class Values(fields.List):
    """A list of numbers (null for a missing value), validated at once into a float array.

    Booleans, strings, NaN and Infinity are refused with the index of the first one.
    """

    def __init__(self, **kwargs):
        super().__init__(fields.Float(allow_nan=False, allow_none=True), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> np.ndarray:
        if not isinstance(value, list):
            raise ValidationError("Not a valid list.")
        if not set(map(type, value)) <= _NUMBER_TYPES:
            for index, item in enumerate(value):
                if type(item) not in _NUMBER_TYPES:
                    raise ValidationError({index: ["Not a valid number."]})
        missing = np.fromiter((item is None for item in value), dtype=bool, count=len(value))
        array = np.array(value, dtype=np.float64)  # None -> NaN
        bad = np.flatnonzero(~np.isfinite(array) & ~missing)
        if bad.size:
            raise ValidationError({int(bad[0]): ["NaN and Infinity are not numbers; send null."]})
        return array

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        array = np.asarray(value, dtype=np.float64)
        return [None if np.isnan(v) else v for v in array.tolist()]
