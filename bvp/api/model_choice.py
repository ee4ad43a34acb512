"""GET /api/v1/sensors/<id>/model and POST .../model/selection: which model forecasts a
sensor, chosen when and on what scores; and choosing it again now."""

from __future__ import annotations

from flask_smorest import Blueprint

from bvp.api.auth import WRITE_DATA_ROLES, account_scope, authenticate, not_found, require_role
from bvp.api.errors import FORBIDDEN, NOT_FOUND, errors_documented
from bvp.api.jobs import queue_connection
from bvp.api.schemas import JobSchema, ModelChoiceSchema
from bvp.data.models.sensors import find_sensor
from bvp.data.transactional import transactional
from bvp.forecasting.enqueue import enqueue_model_selection
from bvp.forecasting.job_status import job_status
from bvp.forecasting.pipeline import model_choice

choice = Blueprint("model_choice", __name__, url_prefix="/api/v1", description="Forecasting models")
choice.before_request(authenticate)


@choice.get("/sensors/<int:sensor_id>/model")
@choice.response(200, ModelChoiceSchema)
@errors_documented(choice, {404: NOT_FOUND})
def get_model(sensor_id: int):
    """The model that forecasts one of your sensors: chosen when, by which backtest
    scores, an ensemble's members, and how often its p10-p90 band held."""
    with transactional() as session:
        if find_sensor(session, sensor_id, account_scope()) is None:
            not_found("sensor", sensor_id)
        return model_choice(session, sensor_id)


@choice.post("/sensors/<int:sensor_id>/model/selection")
@choice.response(202, JobSchema)
@errors_documented(choice, {403: FORBIDDEN, 404: NOT_FOUND, 503: "The job queue is unreachable."})
def select_model(sensor_id: int):
    """Choose the sensor's model again now: queues the backtest of every model (a worker
    runs it beside the forecasts); the job's id, to follow at /api/v1/jobs/<id>."""
    with transactional() as session:
        if find_sensor(session, sensor_id, account_scope()) is None:
            not_found("sensor", sensor_id)
        require_role(WRITE_DATA_ROLES, "choosing models")
    connection = queue_connection()
    job_id = enqueue_model_selection(connection, sensor_id)  # or it is already waiting
    return job_status(connection, job_id)
