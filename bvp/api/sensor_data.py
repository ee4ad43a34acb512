"""POST/GET /api/v1/sensors/<id>/data, GET /api/v1/sensors/<id>/forecasts and
GET /api/v1/sensors/<id>/stats."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager

import numpy as np
import pandas as pd
from flask import Response
from flask_smorest import Blueprint, abort

from bvp.api.auth import account_scope, authenticate, current_user, not_found
from bvp.api.errors import FORBIDDEN, errors_documented
from bvp.api.multipart import MULTIPART
from bvp.api.schemas import (
    GetDataQuerySchema,
    PostDataResultSchema,
    PostDataSchema,
    SensorDataSchema,
    SensorForecastsSchema,
    SensorStatsSchema,
    StatsQuerySchema,
    UploadResultSchema,
    UploadSchema,
)
from bvp.config import app_settings
from bvp.data.beliefs import SaveResult
from bvp.data.models.beliefs import probabilities_present
from bvp.data.models.data_sources import forecaster_source_ids
from bvp.data.models.sensors import find_sensor
from bvp.data.sensor_data import (
    PostedSeries,
    SeriesOut,
    read_series,
    resolution_from_duration,
)
from bvp.data.sensor_stats import sensor_statistics
from bvp.data.transactional import transactional
from bvp.forecasting.outbox import PendingJobs
from bvp.ingestion.upload import MEASURED_INSTANTLY, Upload
from bvp.ingestion.user_data import (
    SensorNotFoundError,
    Store,
    WriteNotAllowedError,
    store_for_user,
    upload_for_user,
)

sensor_data = Blueprint(
    "sensor_data", __name__, url_prefix="/api/v1/sensors", description="Sensor data"
)
sensor_data.before_request(authenticate)


@sensor_data.post("/<int:sensor_id>/data")
@sensor_data.arguments(PostDataSchema)
@sensor_data.response(200, PostDataResultSchema)
@errors_documented(sensor_data, {403: FORBIDDEN, 404: "No such sensor (or not yours)."})
@sensor_data.alt_response(422, description="Invalid input; errors name the field and index.")
def post_data(body, sensor_id: int):
    """Store values spread evenly from start; enqueue forecasts if anything changed.

    Values are converted to the sensor's unit and resampled to its resolution. Null
    values are skipped. Posting the same body again changes nothing.
    """
    values = body["values"]
    resolution = body.get("resolution") or resolution_from_duration(body["duration"], len(values))
    series = PostedSeries(body["start"], resolution, values, body["unit"], body.get("prior"))
    result, jobs = store_for_caller(sensor_id, series, body.get("source"))
    return _stored(result, jobs)


@sensor_data.post("/<int:sensor_id>/data/upload")
@sensor_data.arguments(UploadSchema, location=MULTIPART)
@sensor_data.response(200, UploadResultSchema)
@errors_documented(sensor_data, {403: FORBIDDEN, 404: "No such sensor (or not yours)."})
@sensor_data.alt_response(
    422, description="A bad file or field; nothing is stored. Errors name the line and column."
)
def upload_data(form, sensor_id: int):
    """Store a CSV file: a header line, then one event per line, its start and its value.

    Timestamps carry UTC offsets, or are local times in ``timezone``; the unit is the
    ``unit`` field's, else the header's (``value [kW]``, as ``GET ...?format=csv``
    writes). Values are known when their event ended (uploading the same file again
    stores nothing), or at ``prior``. A file with any bad line stores nothing.
    """
    content = form["file"].read()
    with as_caller():
        upload, jobs = upload_for_user(
            current_user(),
            sensor_id,
            content,
            app_settings().jobs,
            unit=form.get("unit"),
            timezone=form.get("timezone"),
            belief_time=form.get("prior") or MEASURED_INSTANTLY,
        )
    return {"rows": upload.rows, "empty_values": upload.empty, **_stored(upload.result, jobs)}


def _stored(result: SaveResult, jobs: PendingJobs) -> dict:
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped_nulls": result.skipped_nulls,
        "forecasting_jobs": jobs.job_ids,
        "jobs_pending": jobs.redis_unreachable,
    }


def store_for_caller(
    sensor_id: int, what: PostedSeries | Store, label: str | None = None
) -> tuple[SaveResult | Upload, PendingJobs]:
    """``store_for_user`` for the request's user (a 404 for a sensor not theirs, a 403
    for a role that does not write data)."""
    with as_caller():
        return store_for_user(current_user(), sensor_id, what, app_settings().jobs, label=label)


@contextmanager
def as_caller():
    """The user data service's refusals as the API's errors."""
    try:
        yield
    except SensorNotFoundError as error:
        not_found("sensor", error.sensor_id)
    except WriteNotAllowedError as error:
        abort(403, message=str(error))


# ?format=csv answers text/csv: listed beside the JSON body, so clients know both.
AS_CSV = {
    "responses": {
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "event_start,value [kW]\n2024-06-01T00:00:00+00:00,1.5\n",
                }
            }
        }
    }
}


@sensor_data.get("/<int:sensor_id>/data")
@sensor_data.arguments(GetDataQuerySchema, location="query")
@sensor_data.response(200, SensorDataSchema)
@sensor_data.doc(**AS_CSV)
@errors_documented(sensor_data, {404: "No such sensor (or not yours)."})
def get_data(query, sensor_id: int):
    """The latest measured (not forecast) value per event, as of a time if given."""
    return _read(query, sensor_id, forecasts=False)


@sensor_data.get("/<int:sensor_id>/forecasts")
@sensor_data.arguments(GetDataQuerySchema, location="query")
@sensor_data.response(200, SensorForecastsSchema)
@sensor_data.doc(**AS_CSV)
@errors_documented(sensor_data, {404: "No such sensor (or not yours)."})
def get_forecasts(query, sensor_id: int):
    """The latest forecast per event (as of a time, if given), on a regular grid, with
    when each was made, how far ahead, and other quantiles when present."""
    return _read(query, sensor_id, forecasts=True)


@sensor_data.get("/<int:sensor_id>/stats")
@sensor_data.arguments(StatsQuerySchema, location="query")
@sensor_data.response(200, SensorStatsSchema)
@errors_documented(sensor_data, {404: "No such sensor (or not yours)."})
@sensor_data.alt_response(422, description="Invalid input (a naive start or end); errors name it.")
def get_stats(query, sensor_id: int):
    """First and last event, count, min, max, mean and the share of missing events, per
    data source and for all measurements together, in one query.

    - Only the values themselves count (the median; other quantiles of forecasts do not).
    - Per source, over that source's latest belief per event: a value posted again or
      corrected counts once, as its most recent belief.
    - `measured`: the latest belief per event among every source that is not a
      forecaster, what `GET .../data` reads; null when nothing was measured.
    - `start` and `end` (each optional, with a UTC offset) keep events with
      `start <= event start < end`.
    - Values are in the sensor's unit. `share_missing` is `1 - count / slots`, `slots`
      being the events of the sensor's resolution from `start` (else the first event)
      to `end` (else the end of the last event).
    """
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        return sensor_statistics(session, sensor, query.get("start"), query.get("end"))


def _read(query: dict, sensor_id: int, forecasts: bool):
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        forecasters = forecaster_source_ids(session)
        sources = forecasters if forecasts else None
        if "source" in query:
            sources = [query["source"]]
        window = {
            "resolution": query.get("resolution"),
            "unit": query.get("unit"),
            "as_of": query.get("as_of"),
            "source": sources,
            "exclude_sources": () if forecasts else forecasters,
        }
        series = read_series(session, sensor, query["start"], query["end"], **window)
        body = {
            "sensor_id": sensor_id,
            "start": series.start,
            "end": series.end,
            "resolution": series.resolution,
            "unit": series.unit,
            "values": series.values,
        }
        if forecasts:
            body.update(_forecast_details(session, sensor, query, series, window))
    if query["format"] == "csv":
        return _csv(series)
    return body


def _forecast_details(session, sensor, query, series: SeriesOut, window: dict) -> dict:
    """Belief times, horizons and other quantiles of the forecasts in ``series``."""
    details: dict = {}
    if series.belief_times is not None:
        ends = pd.date_range(series.start, periods=len(series.values), freq=series.resolution)
        horizons = (ends + series.resolution) - series.belief_times
        details["belief_times"] = [None if pd.isna(t) else t for t in series.belief_times]
        details["horizons"] = [None if pd.isna(h) else h.to_pytimedelta() for h in horizons]
    probabilities = probabilities_present(
        session, sensor.id, series.start, series.end, window["source"] or []
    )
    details["quantiles"] = {
        f"{p:g}": read_series(
            session, sensor, query["start"], query["end"], cumulative_probability=p, **window
        ).values
        for p in probabilities
        if p != 0.5
    }
    return details


def _csv(series: SeriesOut) -> Response:
    starts = pd.date_range(series.start, periods=len(series.values), freq=series.resolution)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["event_start", f"value [{series.unit}]"])
    for start, value in zip(starts, series.values.tolist(), strict=True):
        writer.writerow([start.isoformat(), "" if np.isnan(value) else value])
    return Response(buffer.getvalue(), mimetype="text/csv")
