"""A sensor's ``attributes``: the one definition of which there are, what each holds and
what it means, for the API that takes them (POST and PATCH refuse a bad one with its
path, ``attributes.reforecast_every``, and an unknown one with the close matches) and
for every reader (forecasts, the re-forecasting schedule, regressors).

Sensors stored before this definition may hold unknown keys or bad values: readers
(``attributes_of``) skip those, with a warning, rather than fail a job.
"""

from __future__ import annotations

import difflib
import logging
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
)

from bvp.data.utc import ISO_DURATION, iso_duration, parse_duration

log = logging.getLogger(__name__)

MAX_REGRESSORS = 100


def _duration(value: Any) -> timedelta:
    if not isinstance(value, str):
        raise ValueError("Must be an ISO 8601 duration as text, e.g. PT1H")
    return parse_duration(value)


@cache
def _countries() -> frozenset[str]:
    import holidays  # when a country is first checked, not at every start

    return frozenset(holidays.list_supported_countries())


def _country(value: Any) -> str:
    if not isinstance(value, str) or value not in _countries():
        raise ValueError(
            "Not a country code the holidays calendar knows (ISO 3166, e.g. NL, US, GB)"
        )
    return value


SensorId = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
Bound = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(iso_duration, return_type=str),
    Field(json_schema_extra={"type": "string", "pattern": ISO_DURATION}),
]
Label = Annotated[str, Field(strict=True, min_length=1, max_length=100)]


class SensorAttributes(BaseModel):
    """What a sensor's ``attributes`` may hold; every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    regressors: list[SensorId] | None = Field(
        None,
        max_length=MAX_REGRESSORS,
        description="Sensors (ids, same account) whose history the forecasts learn from. "
        "Not given: the sensors of the nearest weather station within 50 km; [] none.",
    )
    future_regressors: list[SensorId] = Field(
        default_factory=list,
        max_length=MAX_REGRESSORS,
        description="Sensors whose values for the forecast window (e.g. weather forecasts, "
        "as known at each origin) the forecasts use.",
    )
    reforecast_every: Duration | None = Field(
        None, description="Forecast again this often (ISO 8601, e.g. PT1H), new data or not."
    )
    country: Annotated[str, BeforeValidator(_country)] | None = Field(
        None, description="Whose public holidays are a forecasting feature (e.g. NL)."
    )
    lower_bound: Bound | None = Field(
        None, description="Forecasts never go below this (default 0 for PV and irradiance)."
    )
    capacity: Bound | None = Field(None, description="Forecasts never go above this.")
    daylight_only: Annotated[bool, Field(strict=True)] | None = Field(
        None, description="Zero at night (default for PV and irradiance)."
    )
    sample_series: Label | None = Field(
        None, description="Set by `flask db_populate`: the sample series it holds."
    )
    ingested_as: Label | None = Field(
        None, description="Set by ingestion: the manifest's key for this sensor."
    )

    def stored(self) -> dict[str, Any]:
        """As kept in the database (JSON): only what was given."""
        return self.model_dump(mode="json", exclude_unset=True)


NAMES = tuple(SensorAttributes.model_fields)


class SensorAttributesError(ValueError):
    """Bad attributes: ``errors`` maps each path (``reforecast_every``,
    ``regressors[1]``) to its reasons."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"attributes.{p}: {' '.join(r)}" for p, r in errors.items()))


def check_attributes(data: Any) -> SensorAttributes:
    """The attributes if valid; else ``SensorAttributesError`` naming each bad path (an
    unknown key with the known ones it is close to)."""
    if not isinstance(data, dict):
        raise SensorAttributesError({"": ["Must be an object."]})
    try:
        attributes = SensorAttributes.model_validate(data)
    except ValidationError as error:
        raise SensorAttributesError(_paths(error)) from None
    if not _bounds_in_order(attributes):
        raise SensorAttributesError({"capacity": ["Must be above lower_bound."]})
    return attributes


def _bounds_in_order(attributes: SensorAttributes) -> bool:
    low, high = attributes.lower_bound, attributes.capacity
    return low is None or high is None or high > low


def _paths(error: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in error.errors():
        path = ""
        for part in problem["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part in NAMES or not path:  # pydantic's own union parts are left out
                path += f".{part}" if path else str(part)
        if problem["type"] == "extra_forbidden":
            close = difflib.get_close_matches(path, NAMES, n=2)
            hint = f"did you mean {' or '.join(close)}?" if close else f"known: {', '.join(NAMES)}"
            reason = f"Unknown attribute; {hint}"
        else:
            reason = problem["msg"].removeprefix("Value error, ")
        errors.setdefault(path, [])
        if reason not in errors[path]:
            errors[path].append(reason)
    return errors


def attributes_of(stored: dict[str, Any] | None, sensor_id: int | None = None) -> SensorAttributes:
    """A stored sensor's attributes for its readers: unknown keys and bad values (of a
    sensor stored before they were checked) are left out, with a warning."""
    stored = dict(stored or {})
    for kind in ("regressors", "future_regressors"):  # ids as text, as once accepted
        if isinstance(stored.get(kind), list):
            ids = [int(r) for r in stored[kind] if str(r).isdigit()]
            stored[kind] = [r for r in ids if 1 <= r < 2**31][:MAX_REGRESSORS]
    try:
        attributes = SensorAttributes.model_validate(stored)
    except ValidationError as error:
        bad = sorted({str(p["loc"][0]) for p in error.errors() if p["loc"]})
        log.warning("sensor %s: attributes %s ignored: %s", sensor_id, bad, error)
        kept = {k: v for k, v in stored.items() if k not in bad}
        try:
            attributes = SensorAttributes.model_validate(kept)
        except ValidationError:  # not expected: every bad key is left out
            attributes = SensorAttributes()
    if not _bounds_in_order(attributes):
        log.warning("sensor %s: capacity not above lower_bound: both ignored", sensor_id)
        attributes = attributes.model_copy(update={"lower_bound": None, "capacity": None})
    return attributes
