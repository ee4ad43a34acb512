"""What a sensor's page can do: upload a CSV file of readings, forecast now, choose the
model again; and the progress of the jobs that queued.

The same services as the API: the upload is the API's upload
(``bvp.ingestion.user_data.upload_for_user``: one transaction, forecasts queued after
commit when something changed), "forecast now" queues the jobs a data POST
queues, from the end of the newest measurement, and "choose model" the selection job of
``POST /api/v1/sensors/<id>/model/selection``. Uploading needs a role that writes data;
forecasting and choosing are for account-admins and admins.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from redis.exceptions import RedisError
from wtforms import StringField
from wtforms.validators import Length, Optional, ValidationError

from bvp.config import app_settings
from bvp.data.models.accounts import MANAGE_ROLES, WRITE_DATA_ROLES
from bvp.data.models.sensors import find_sensor
from bvp.data.transactional import transactional
from bvp.data.utc import is_time_zone
from bvp.forecasting.enqueue import enqueue_forecasts, enqueue_model_selection
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.job_status import job_statuses
from bvp.forecasting.pipeline import latest_origin
from bvp.ingestion.upload import UploadError
from bvp.ingestion.user_data import SensorNotFoundError, WriteNotAllowedError, upload_for_user
from bvp.queues import redis_connection
from bvp.ui import dashboard
from bvp.ui.auth import account_scope

FORECAST_ROLES = MANAGE_ROLES
JOBS_SHOWN = 20  # job ids a page follows at most


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])
    unit = StringField("Unit (if the header has none)", validators=[Optional(), Length(max=20)])
    timezone = StringField(
        "Time zone of times without an offset", validators=[Optional(), Length(max=64)]
    )

    def validate_timezone(self, field) -> None:
        if field.data and not is_time_zone(field.data):
            raise ValidationError("not an IANA time zone (e.g. Europe/Amsterdam)")


class ActionForm(FlaskForm):
    """No fields: the CSRF token of a button."""


def can(roles) -> bool:
    return any(current_user.has_role(role) for role in roles)


@dashboard.post("/sensors/<int:sensor_id>/upload")
def upload(sensor_id: int):
    if not can(WRITE_DATA_ROLES):
        abort(403, "Your role does not allow writing data.")
    form = UploadForm()
    if not form.validate_on_submit():
        for name, errors in form.errors.items():
            flash(f"Not stored: {getattr(form, name).label.text}: {'; '.join(errors)}", "error")
        return _back(sensor_id)
    try:
        done, jobs = upload_for_user(
            current_user,
            sensor_id,
            form.file.data.read(),
            app_settings().jobs,
            unit=form.unit.data or None,
            timezone=form.timezone.data or None,
        )
    except SensorNotFoundError as error:
        abort(404, str(error))
    except WriteNotAllowedError as error:
        abort(403, str(error))
    except UploadError as error:
        flash(f"Nothing stored from {form.file.data.filename}: {error}", "error")
        return _back(sensor_id)
    result = done.result
    flash(
        f"{form.file.data.filename}: {done.rows} lines, {result.created} values new, "
        f"{result.updated} changed, {result.unchanged} unchanged"
        + (f", {done.empty} without a value" if done.empty else "")
        + ("; forecasting jobs queued" if jobs.job_ids else "")
        + ".",
        "info",
    )
    return _back(sensor_id, jobs.job_ids)


@dashboard.post("/sensors/<int:sensor_id>/forecast")
def forecast_now(sensor_id: int):
    _check_button(FORECAST_ROLES, "forecasting")
    with transactional() as session:
        origin = latest_origin(session, _sensor(session, sensor_id).id)
    if origin is None:
        flash("Nothing to forecast from: the sensor has no measurements yet.", "error")
        return _back(sensor_id)
    try:
        ids = enqueue_forecasts(app_settings().jobs, {sensor_id: origin})
    except RedisError:
        flash("The job queue is unreachable; try again shortly.", "error")
        return _back(sensor_id)
    flash(f"Forecasting from the newest measurement: {len(ids)} job(s) queued.", "info")
    return _back(sensor_id, ids)


@dashboard.post("/sensors/<int:sensor_id>/model-selection")
def choose_model(sensor_id: int):
    _check_button(FORECAST_ROLES, "choosing models")
    with transactional() as session:
        _sensor(session, sensor_id)
    try:
        job_id = enqueue_model_selection(redis_connection(app_settings().jobs.redis_url), sensor_id)
    except RedisError:
        flash("The job queue is unreachable; try again shortly.", "error")
        return _back(sensor_id)
    flash("Choosing the model by backtest: every model over the last 28 days.", "info")
    return _back(sensor_id, [job_id])


@dashboard.get("/sensors/<int:sensor_id>/jobs.json")
def job_progress(sensor_id: int):
    """Status of the page's jobs (``?job=<id>``, repeated): queued, started, finished..."""
    with transactional() as session:
        _sensor(session, sensor_id)
    try:
        statuses = job_statuses(
            redis_connection(app_settings().jobs.redis_url), followed_jobs(sensor_id)
        )
    except RedisError:
        return jsonify(error="The job queue is unreachable."), 503
    return jsonify(
        jobs=[{"id": i, "status": status or "unknown"} for i, status in statuses.items()]
    )


def followed_jobs(sensor_id: int) -> list[str]:
    """The job ids a sensor's page shows progress for (given by the redirect after an
    action)."""
    ids = request.args.getlist("job")
    return [i for i in ids if sensor_of_job(i) == sensor_id][:JOBS_SHOWN]


def _check_button(roles, what: str) -> None:
    if not can(roles):
        abort(403, f"Your role does not allow {what}.")
    if not ActionForm().validate_on_submit():  # the CSRF token
        abort(400, "The form expired; reload the page and try again.")


def _sensor(session, sensor_id: int):
    sensor = find_sensor(session, sensor_id, account_scope())
    if sensor is None:
        abort(404, f"There is no sensor {sensor_id}.")
    return sensor


def _back(sensor_id: int, job_ids: list[str] | None = None):
    target = url_for("dashboard.sensor", sensor_id=sensor_id, job=job_ids or None)
    return redirect(f"{target}#jobs" if job_ids else target)
