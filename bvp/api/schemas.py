"""Request and response schemas: they validate input and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bvp.api.fields import Attributes, AwareDateTime, Duration, File, TimeZone, Unit, Values
from bvp.data.models.accounts import ROLE_NAMES

# Units of data (posted, uploaded, read) are checked when converted (bvp.data.units): the
# sensor's own unit always goes, even one stored before units were checked.
DATA_UNIT = "The sensor's unit or one that converts to it (MW, kWh for kW...)."


class TokenRequestSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True)


class TokenSchema(Schema):
    token = fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`."})
    expires_at = fields.AwareDateTime()


class ChangeableSchema(Schema):
    """A thing's schema that PATCH loads partially: a change needs at least one field."""

    @validates_schema
    def _something_to_change(self, data, **kwargs) -> None:
        if self.partial and not data:
            raise ValidationError("Give at least one field to change.")


class AssetSchema(ChangeableSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    asset_type = fields.String(required=True, validate=validate.Length(min=1, max=50))
    account_id = fields.Integer(
        strict=True,  # 2.5 is not an id (non-strict would read it as 2)
        metadata={"description": "Admins only; others create in their own account."},
    )
    latitude = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    timezone = TimeZone(load_default="UTC")


class SensorSchema(ChangeableSchema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    unit = Unit(required=True)
    event_resolution = Duration(required=True)
    timezone = TimeZone(load_default="UTC")
    asset_id = fields.Integer(required=True, strict=True)
    attributes = Attributes(load_default=dict)


class SensorDeleteQuerySchema(Schema):
    with_data = fields.Boolean(
        load_default=False,
        metadata={"description": "Needed to delete a sensor that holds data (deletes it too)."},
    )


class PostDataSchema(Schema):
    start = AwareDateTime(required=True, metadata={"example": "2024-03-31T00:00:00+01:00"})
    duration = Duration(metadata={"description": "Covered by all values together."})
    resolution = Duration(metadata={"description": "Covered by each value."})
    values = Values(required=True, validate=validate.Length(min=1))
    unit = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"example": "kW", "description": DATA_UNIT},
    )
    prior = AwareDateTime(
        metadata={"description": "When these values were known (belief time); default now."}
    )
    source = fields.String(
        validate=validate.Length(min=1, max=60),
        metadata={"description": "A label for the data source; default: the posting user."},
    )

    @validates_schema
    def _one_of_duration_or_resolution(self, data, **_kwargs):
        if ("duration" in data) == ("resolution" in data):
            raise ValidationError("Give either duration or resolution.", "duration")


class PostDataResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    skipped_nulls = fields.Integer()
    forecasting_jobs = fields.List(fields.String())
    jobs_pending = fields.Boolean(
        metadata={"description": "True when the job queue was unreachable; data is stored."}
    )


class UploadSchema(Schema):
    file = File(required=True, metadata={"description": "CSV: event start, value."})
    unit = fields.String(
        validate=validate.Length(min=1, max=20),
        metadata={"description": f"Default: the header's, as `value [kW]`. {DATA_UNIT}"},
    )
    timezone = TimeZone(
        metadata={"description": "The local time of timestamps without a UTC offset."}
    )
    prior = AwareDateTime(
        metadata={"description": "When the values were known; default: each event's end."}
    )


class UploadResultSchema(PostDataResultSchema):
    rows = fields.Integer(metadata={"description": "Events (lines) in the file."})
    empty_values = fields.Integer(metadata={"description": "Lines without a value."})


class GetDataQuerySchema(Schema):
    start = AwareDateTime(required=True)
    end = AwareDateTime(required=True)
    resolution = Duration()
    unit = fields.String(metadata={"description": f"Default: the sensor's. {DATA_UNIT}"})
    as_of = AwareDateTime(metadata={"description": "Only what was believed at this time."})
    source = fields.Integer(metadata={"description": "Only beliefs of this data source id."})
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))

    @validates_schema
    def _window(self, data, **_kwargs):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")


class SensorDataSchema(Schema):
    sensor_id = fields.Integer()
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()
    resolution = Duration()
    unit = fields.String()
    values = Values(metadata={"description": "One per resolution step; null where unknown."})


class StatsQuerySchema(Schema):
    start = AwareDateTime(metadata={"description": "Only events starting at or after this."})
    end = AwareDateTime(metadata={"description": "Only events starting before this."})

    @validates_schema
    def _window(self, data, **_kwargs):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("Must be after start.", "end")


class SeriesStatsSchema(Schema):
    first_event_start = fields.AwareDateTime()
    last_event_start = fields.AwareDateTime()
    count = fields.Integer(metadata={"description": "Events with a value."})
    min = fields.Float()
    max = fields.Float()
    mean = fields.Float()
    slots = fields.Integer(
        metadata={"description": "Events the sensor's resolution has in the span counted."}
    )
    share_missing = fields.Float(metadata={"description": "1 - count / slots."})


class SourceStatsSchema(SeriesStatsSchema):
    source_id = fields.Integer()
    source = fields.String(metadata={"description": "The data source's name."})
    source_type = fields.String(metadata={"example": "user"})


class SensorStatsSchema(Schema):
    sensor_id = fields.Integer()
    unit = fields.String(metadata={"description": "Of every value here: the sensor's."})
    resolution = Duration()
    start = fields.AwareDateTime(allow_none=True)
    end = fields.AwareDateTime(allow_none=True)
    measured = fields.Nested(
        SeriesStatsSchema,
        allow_none=True,
        metadata={"description": "Every source but forecasters; null if none measured."},
    )
    sources = fields.List(fields.Nested(SourceStatsSchema))


class AccountSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    timezone = TimeZone(load_default="UTC")


class UserSchema(ChangeableSchema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(required=True)
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=200)
    )
    account_id = fields.Integer(
        strict=True,
        metadata={"description": "Admins only; account admins create users in their account."},
    )
    roles = fields.Method("_role_names", deserialize="_load_roles", required=True)
    active = fields.Boolean(load_default=True)

    def _role_names(self, user) -> list[str]:
        return sorted(role.name for role in user.roles)

    def _load_roles(self, value) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError("Must be a list of role names.")
        unknown = sorted(set(value) - set(ROLE_NAMES))
        if unknown:
            raise ValidationError(f"Unknown roles: {', '.join(unknown)}.")
        return value


class ApiClientSchema(Schema):
    client_id = fields.String(dump_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    user_id = fields.Integer(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    key = fields.String(
        dump_only=True,
        metadata={"description": "The Hawk key; returned once, on creation, never again."},
    )


class ExportQuerySchema(Schema):
    sensor = fields.List(
        fields.Integer(), load_default=list, metadata={"description": "Sensor ids (repeatable)."}
    )
    # Any datetime: compared in SQL only (no pandas, so no 1900-2200 bound needed).
    updated_since = fields.AwareDateTime(metadata={"description": "Only beliefs written since."})
    cursor = fields.String(metadata={"description": "From the previous page's `cursor`."})
    limit = fields.Integer(load_default=1000, validate=validate.Range(1, 10_000))


class ExportedBeliefSchema(Schema):
    sensor_id = fields.Integer()
    event_start = fields.AwareDateTime()
    belief_time = fields.AwareDateTime()
    source_id = fields.Integer()
    cumulative_probability = fields.Float()
    event_value = fields.Float()
    recorded_at = fields.AwareDateTime()


class ExportPageSchema(Schema):
    beliefs = fields.List(fields.Nested(ExportedBeliefSchema))
    cursor = fields.String(
        allow_none=True,
        metadata={"description": "Keep it: the next export starts here (nothing skipped)."},
    )
    next = fields.String(
        allow_none=True,
        metadata={"description": "Link to the next page while this page was full."},
    )


class SensorForecastsSchema(SensorDataSchema):
    belief_times = fields.List(
        fields.AwareDateTime(allow_none=True),
        metadata={"description": "When each value was forecast (null where none)."},
    )
    horizons = fields.List(
        Duration(allow_none=True),
        metadata={"description": "How far ahead each value was forecast (event end - belief)."},
    )
    quantiles = fields.Dict(
        keys=fields.String(),
        values=Values(),
        metadata={
            "description": "Other quantiles when present, e.g. {'0.1': [...], '0.9': [...]}."
        },
    )


class JobSchema(Schema):
    id = fields.String()
    queue = fields.String()
    status = fields.String(metadata={"example": "finished"})
    description = fields.String(allow_none=True)
    enqueued_at = fields.AwareDateTime(allow_none=True)
    started_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    retries_left = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "Why it failed, if it did."})
    result = fields.Raw(allow_none=True)


class ModelChoiceSchema(Schema):
    sensor_id = fields.Integer()
    model = fields.String(metadata={"example": "ensemble"})
    members = fields.List(
        fields.String(), metadata={"description": "The models an ensemble averages."}
    )
    chosen = fields.Boolean(
        metadata={"description": "By a backtest; false: the default until one has run."}
    )
    selected_at = fields.AwareDateTime(allow_none=True)
    mase = fields.Float(allow_none=True, metadata={"description": "Of the model in use."})
    coverage = fields.Float(
        allow_none=True,
        metadata={"description": "Share of the backtest's actuals inside its p10-p90 band."},
    )
    scores = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        metadata={"description": "Per candidate model: mae, mase, bias, points."},
    )


class MonthlyMetricsQuerySchema(Schema):
    month = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="Write the month as YYYY-MM."),
        metadata={"example": "2024-02"},
    )


class SensorQualitySchema(Schema):
    month = fields.String()
    sensor_id = fields.Integer()
    sensor = fields.String()
    unit = fields.String()
    timezone = fields.String(metadata={"description": "Whose calendar month this is."})
    month_start = fields.String(metadata={"description": "ISO 8601, UTC."})
    month_end = fields.String()
    expected = fields.Integer(metadata={"description": "Events the sensor's grid has."})
    received = fields.Integer(metadata={"description": "Events with a measurement."})
    completeness = fields.Float(metadata={"description": "received / expected, percent."})
    gaps = fields.Integer(metadata={"description": "Runs of missing events."})
    longest_gap = fields.String(metadata={"description": "ISO 8601 duration."})
    revisions = fields.Integer(metadata={"description": "Beliefs beyond the first per event."})
    late_p50_seconds = fields.Float(
        allow_none=True, metadata={"description": "First belief time minus event end."}
    )
    late_p95_seconds = fields.Float(allow_none=True)


class ForecastAccuracySchema(Schema):
    month = fields.String()
    sensor_id = fields.Integer()
    sensor = fields.String()
    unit = fields.String()
    model = fields.String()
    horizon = fields.String(metadata={"description": "ISO 8601; forecasts up to this far ahead."})
    forecasts = fields.Integer()
    mae = fields.Float(allow_none=True)
    mase = fields.Float(allow_none=True)
    bias = fields.Float(allow_none=True, metadata={"description": "Forecast minus measured."})
    pinball = fields.Float(allow_none=True, metadata={"description": "Mean over p10/p50/p90."})
    coverage = fields.Float(allow_none=True, metadata={"description": "Share inside p10-p90."})


class QueueHealthSchema(Schema):
    month = fields.String()
    queue = fields.String()
    finished = fields.Integer()
    failed = fields.Integer()
    retries = fields.Integer()
    wait_p50_seconds = fields.Float(allow_none=True)
    wait_p95_seconds = fields.Float(allow_none=True)
    run_p50_seconds = fields.Float(allow_none=True)
    run_p95_seconds = fields.Float(allow_none=True)


class MonthlyMetricsSchema(Schema):
    month = fields.String()
    quality = fields.List(fields.Nested(SensorQualitySchema))
    accuracy = fields.List(fields.Nested(ForecastAccuracySchema))
    queues = fields.List(fields.Nested(QueueHealthSchema))
