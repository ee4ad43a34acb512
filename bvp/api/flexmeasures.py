"""A thin FlexMeasures v3 adapter, so scripts and `flexmeasures-client` work unchanged.

Routes and bodies follow FlexMeasures' API (v3_0) for what BVP does: versions, auth
tokens (sent back raw in the Authorization header), sensors, sensor data in and out,
and forecasts (trigger, then poll: 202 while the job runs). Everything goes through
the same services, auth, roles and account scope as /api/v1.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import reduce

import pandas as pd
from flask import jsonify
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from redis.exceptions import RedisError
from werkzeug.routing import BaseConverter

from bvp import __version__
from bvp.api.auth import (
    WRITE_DATA_ROLES,
    account_scope,
    authenticate,
    not_found,
    require_role,
)
from bvp.api.errors import FORBIDDEN, NOT_FOUND, errors_documented
from bvp.api.fields import AwareDateTime, Duration, File, Values
from bvp.api.multipart import MULTIPART
from bvp.api.schemas import TokenRequestSchema
from bvp.api.sensor_data import store_for_caller
from bvp.api.tokens import log_in
from bvp.config import app_settings
from bvp.data.models.data_sources import forecaster_source_ids
from bvp.data.models.sensors import find_sensor, sensors_in_scope
from bvp.data.sensor_data import (
    PostedSeries,
    check_on_grid,
    read_series,
    resolution_from_duration,
)
from bvp.data.transactional import transactional
from bvp.data.utc import iso_duration, to_utc
from bvp.forecasting.enqueue import enqueue_forecasts
from bvp.forecasting.job_ids import FORECAST_PREFIX, forecast_window
from bvp.forecasting.job_status import WAITING, job_status
from bvp.forecasting.pipeline import MAX_HORIZON, latest_origin
from bvp.ingestion.upload import MEASURED_INSTANTLY, add_uploads, store_upload
from bvp.limits import login_limit
from bvp.queues import redis_connection

# The FlexMeasures server version whose v3_0 behaviour this adapter offers.
COMPATIBLE_FLEXMEASURES_VERSION = "0.31.0"


class ForecastJobId(BaseConverter):
    """A forecasting job's id in a path (``forecast-s7-h86400-o...``): never ``trigger``,
    so the trigger's path serves POST only (and OPTIONS says so)."""

    regex = FORECAST_PREFIX + r"[^/]+"


fm_root = Blueprint("fm_root", __name__, url_prefix="/api", description="FlexMeasures v3 compat")
fm = Blueprint("fm_v3", __name__, url_prefix="/api/v3_0", description="FlexMeasures v3 compat")
fm.before_request(authenticate)


class FmSensorDataSchema(Schema):
    start = AwareDateTime(required=True)
    duration = Duration(required=True)
    values = Values(required=True, validate=validate.Length(min=1))
    unit = fields.String(required=True)
    prior = AwareDateTime()


class FmGetDataSchema(Schema):
    start = AwareDateTime(required=True)
    duration = Duration(required=True)
    unit = fields.String()
    resolution = Duration()


class FmTriggerSchema(Schema):
    start = AwareDateTime()
    end = AwareDateTime()
    duration = Duration()
    max_forecast_horizon = Duration(data_key="max-forecast-horizon")

    class Meta:
        unknown = "exclude"  # FlexMeasures' training options; BVP selects models itself


class FmVersionsSchema(Schema):
    versions = fields.List(fields.String())
    flexmeasures_version = fields.String()
    bvp_version = fields.String()
    message = fields.String()


class FmTokenSchema(Schema):
    auth_token = fields.String()
    user_id = fields.Integer()


class FmSensorSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    unit = fields.String()
    event_resolution = Duration()
    timezone = fields.String()
    generic_asset_id = fields.Integer()
    attributes = fields.String(metadata={"description": "A JSON object, as text."})


class FmValuesSchema(Schema):
    values = Values()
    start = fields.AwareDateTime()
    duration = Duration()
    unit = fields.String()


class FmStatusSchema(Schema):
    status = fields.String()
    message = fields.String()
    forecast = fields.String(metadata={"description": "The forecasting job's id."})


@fm_root.get("/")
@fm_root.doc(security=[])
@fm_root.alt_response(200, schema=FmVersionsSchema, success=True)
def versions():
    """API versions (FlexMeasures style)."""
    return jsonify(
        versions=["v3_0"],
        flexmeasures_version=COMPATIBLE_FLEXMEASURES_VERSION,
        bvp_version=__version__,
        message="BVP offers FlexMeasures API v3_0 compatibility; its own API is /api/v1.",
    )


@fm_root.post("/requestAuthToken")
@login_limit()
@fm_root.arguments(TokenRequestSchema)
@fm_root.doc(security=[])
@fm_root.alt_response(200, schema=FmTokenSchema, success=True)
@errors_documented(fm_root, {401: "Wrong email or password, or an inactive user."})
def request_auth_token(credentials):
    """A token to send back raw in the Authorization header (FlexMeasures style)."""
    token, record = log_in(credentials["email"], credentials["password"])
    return jsonify(auth_token=token, user_id=record.user_id)


@fm.get("/sensors")
@fm.alt_response(200, schema=FmSensorSchema(many=True), success=True)
def list_sensors():
    with transactional() as session:
        return jsonify([_fm_sensor(s) for s in session.scalars(sensors_in_scope(account_scope()))])


@fm.get("/sensors/<int:sensor_id>")
@fm.alt_response(200, schema=FmSensorSchema, success=True)
@errors_documented(fm, {404: NOT_FOUND})
def get_sensor(sensor_id: int):
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        return jsonify(_fm_sensor(sensor))


@fm.post("/sensors/<int:sensor_id>/data")
@fm.arguments(FmSensorDataSchema)
@fm.alt_response(200, schema=FmStatusSchema, success=True)
@errors_documented(fm, {403: FORBIDDEN, 404: NOT_FOUND})
def post_data(body, sensor_id: int):
    """Store values; FlexMeasures answers 200 PROCESSED."""
    resolution = resolution_from_duration(body["duration"], len(body["values"]))
    series = PostedSeries(
        body["start"], resolution, body["values"], body["unit"], body.get("prior")
    )
    store_for_caller(sensor_id, series)
    return jsonify(status="PROCESSED", message="Request has been processed.")


class FmUploadSchema(Schema):
    files = fields.List(File(), data_key="uploaded-files", required=True)
    unit = fields.String(validate=validate.Length(min=1, max=20))
    measured_instantly = fields.Boolean(
        data_key="belief-time-measured-instantly", load_default=False
    )


@fm.post("/sensors/<int:sensor_id>/data/upload")
@fm.arguments(FmUploadSchema, location=MULTIPART)
@fm.alt_response(200, schema=FmStatusSchema, success=True)
@errors_documented(fm, {403: FORBIDDEN, 404: NOT_FOUND})
def upload_data(form, sensor_id: int):
    """CSV files of (event start, value), as FlexMeasures takes them: in the sensor's unit
    unless ``unit`` says otherwise; believed now, or when each event ended with
    ``belief-time-measured-instantly``. One bad file stores none of them."""
    contents = [file.read() for file in form["files"]]
    belief_time = MEASURED_INSTANTLY if form["measured_instantly"] else None

    def store_all(session, sensor, source_id):
        uploads = [
            store_upload(
                session,
                sensor,
                content,
                source_id,
                field=f"uploaded-files[{i}]",
                unit=form.get("unit"),
                default_unit=sensor.unit,
                belief_time=belief_time,
            )
            for i, content in enumerate(contents)
        ]
        return reduce(add_uploads, uploads)

    upload, _ = store_for_caller(sensor_id, store_all)
    stored = upload.result
    return jsonify(
        status="PROCESSED",
        message=f"Request has been processed: {upload.rows} rows, {stored.created} new, "
        f"{stored.updated} changed, {stored.unchanged} unchanged values.",
    )


@fm.get("/sensors/<int:sensor_id>/data")
@fm.arguments(FmGetDataSchema, location="query")
@fm.alt_response(200, schema=FmValuesSchema, success=True)
@errors_documented(fm, {404: NOT_FOUND})
def get_data(query, sensor_id: int):
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        series = read_series(
            session,
            sensor,
            query["start"],
            query["start"] + query["duration"],
            resolution=query.get("resolution"),
            unit=query.get("unit"),
            exclude_sources=forecaster_source_ids(session),
        )
    return jsonify(_fm_values(series))


@fm.post("/sensors/<int:sensor_id>/forecasts/trigger")
@fm.arguments(FmTriggerSchema)
@fm.alt_response(200, schema=FmStatusSchema, success=True)
@errors_documented(fm, {403: FORBIDDEN, 404: NOT_FOUND, 503: "The job queue is unreachable."})
def trigger_forecast(body, sensor_id: int):
    """Queue a forecast from ``start`` (default: after the latest measurement)."""
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        require_role(WRITE_DATA_ROLES, "triggering forecasts")
        start = body.get("start") or latest_origin(session, sensor.id)
        if start is None:
            abort(
                422,
                message="The sensor has no data to forecast from.",
                errors={"start": ["Needed: the sensor has no data yet."]},
            )
        start = to_utc(start, "start")
        if "end" in body:
            horizon = to_utc(body["end"], "end") - start
        else:
            horizon = body.get("duration") or body.get("max_forecast_horizon") or timedelta(days=1)
        check_on_grid(pd.Timestamp(start), sensor.event_resolution, sensor.timezone)
        if horizon > MAX_HORIZON:
            abort(
                422,
                message=f"Forecasts reach at most {iso_duration(MAX_HORIZON)} ahead.",
                errors={"duration": [f"At most {iso_duration(MAX_HORIZON)}."]},
            )
        if horizon <= timedelta(0):
            abort(
                422,
                message="The forecast must end after it starts.",
                errors={"end": ["Before start."]},
            )
    settings = app_settings().jobs.for_horizons([horizon])
    try:
        job_ids = enqueue_forecasts(settings, {sensor_id: start})
    except RedisError:
        abort(503, message="The job queue is unreachable; try again shortly.")
    return jsonify(forecast=job_ids[0], status="PROCESSED", message="Forecasting job queued.")


@fm.get("/sensors/<int:sensor_id>/forecasts/<forecast_job:job_id>")
@fm.alt_response(200, schema=FmValuesSchema, success=True)
@fm.alt_response(202, schema=FmStatusSchema, description="The job waits or runs.", success=True)
@errors_documented(fm, {404: NOT_FOUND, 422: "The job failed; the message says why."})
def get_forecast(sensor_id: int, job_id: str):
    """202 while the job waits or runs; the forecast once it finished."""
    window = forecast_window(job_id)
    if window is None or window.sensor_id != sensor_id:
        not_found("forecast", job_id)
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        job = job_status(redis_connection(app_settings().jobs.redis_url), job_id)
        if job is None:
            not_found("forecast", job_id)
        if job.status in WAITING:
            return jsonify(status=job.status.upper(), message="Forecasting job in progress."), 202
        if job.status != "finished":
            abort(422, message=f"Forecasting job {job.status}: {job.error or ''}".strip())
        series = read_series(
            session,
            sensor,
            window.origin,
            window.origin + window.horizon,
            as_of=window.origin,
            source=forecaster_source_ids(session),
        )
    return jsonify(_fm_values(series))


def _fm_sensor(sensor) -> dict:
    return {
        "id": sensor.id,
        "name": sensor.name,
        "unit": sensor.unit,
        "event_resolution": iso_duration(sensor.event_resolution),
        "timezone": sensor.timezone,
        "generic_asset_id": sensor.asset_id,
        "attributes": json.dumps(sensor.attributes or {}),
    }


def _fm_values(series) -> dict:
    return {
        "values": [None if v != v else v for v in series.values.tolist()],
        "start": pd.Timestamp(series.start).isoformat(),
        "duration": iso_duration(series.end - series.start),
        "unit": series.unit,
    }
