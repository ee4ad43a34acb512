"""Marshmallow fields for time series: ISO 8601 durations, units, sensor attributes and
fast lists of numbers. Units and attributes are thin wrappers of the data room's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from flask_smorest.fields import Upload
from marshmallow import ValidationError, fields, validate
from werkzeug.datastructures import FileStorage

from bvp.data.sensor_attributes import SensorAttributes, SensorAttributesError, check_attributes
from bvp.data.units import is_known, unknown_unit_message
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


class Unit(fields.String):
    """A unit BVP knows (``bvp.data.units``): kW, kWh, EUR/MWh, °C, W/m², %; an unknown
    one is refused naming close matches (a typo would make a sensor nobody can post to)."""

    def __init__(self, **kwargs):
        metadata = {
            "example": "kW",
            "description": "A unit such as kW, MWh, EUR/MWh, °C, W/m² or %.",
            **kwargs.pop("metadata", {}),
        }
        kwargs.setdefault("validate", validate.Length(min=1, max=20))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_known(text):
            raise ValidationError(unknown_unit_message(text))
        return text


def _openapi_3_0(schema: dict) -> dict:
    """pydantic's JSON schema of a property as OpenAPI 3.0 writes it (``nullable``, no
    ``null`` type, no titles)."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "default")}
    options = schema.pop("anyOf", None)
    if options:
        kept = [o for o in options if o != {"type": "null"}]
        schema = {**kept[0], **schema} if len(kept) == 1 else {**schema, "anyOf": kept}
        if len(kept) < len(options):
            schema["nullable"] = True
    return schema


class Attributes(fields.Dict):
    """A sensor's attributes, checked against ``bvp.data.sensor_attributes`` (the one
    definition): a bad one is refused at its path (``attributes.regressors[1]``), an
    unknown key with the close matches."""

    def __init__(self, **kwargs):
        json_schema = SensorAttributes.model_json_schema()
        metadata = {
            "description": "Settings of the sensor's forecasts; each key optional.",
            "properties": {k: _openapi_3_0(v) for k, v in json_schema["properties"].items()},
            "additionalProperties": False,
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> dict:
        try:
            return check_attributes(value).stored()
        except SensorAttributesError as error:
            if "" in error.errors:
                raise ValidationError(error.errors[""]) from None
            raise ValidationError(error.errors) from None


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
