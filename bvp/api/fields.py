"""Marshmallow fields for time series: ISO 8601 durations and fast lists of numbers."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from marshmallow import ValidationError, fields

from bvp.data.utc import iso_duration


class Duration(fields.String):
    """An ISO 8601 duration such as PT15M or P1D, as a positive timedelta."""

    def __init__(self, **kwargs):
        metadata = {"format": "duration", "example": "PT15M", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> timedelta:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.upper().startswith("P"):
            raise ValidationError("Not an ISO 8601 duration (e.g. PT15M, PT1H, P1D).")
        try:
            duration = pd.Timedelta(text).to_pytimedelta()
        except ValueError:
            raise ValidationError("Not an ISO 8601 duration (e.g. PT15M, PT1H, P1D).") from None
        if duration <= timedelta(0):
            raise ValidationError("Must be longer than zero.")
        return duration

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso_duration(pd.Timedelta(value).to_pytimedelta())


class TimeZone(fields.String):
    """An IANA time zone name such as Europe/Amsterdam."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError("Not an IANA time zone (e.g. Europe/Amsterdam).") from None
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
