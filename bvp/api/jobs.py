"""GET /api/v1/jobs/<id> and /api/v1/sensors/<id>/jobs: forecasting work, for its owners."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint, abort
from redis.exceptions import RedisError

from bvp.api.auth import account_scope, authenticate, not_found
from bvp.api.errors import NOT_FOUND, errors_documented
from bvp.api.schemas import JobSchema
from bvp.config import app_settings
from bvp.data.models.sensors import find_sensor
from bvp.data.transactional import transactional
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.job_status import job_status
from bvp.forecasting.sensor_jobs import sensor_jobs as recent_jobs_of_sensor
from bvp.queues import QUEUE_NAMES, redis_connection

jobs = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Jobs")
jobs.before_request(authenticate)


@jobs.get("/jobs/<job_id>")
@jobs.response(200, JobSchema)
@errors_documented(
    jobs,
    {404: "No such job (or not one of your sensors').", 503: "The job queue is unreachable."},
)
def get_job(job_id: str):
    """Status, times and error text of one job of your account."""
    with transactional() as session:
        _visible_sensor(session, sensor_of_job(job_id), "job", job_id)
    return job_status(queue_connection(), job_id) or not_found("job", job_id)


@jobs.get("/sensors/<int:sensor_id>/jobs")
@jobs.response(200, JobSchema(many=True))
@errors_documented(jobs, {404: NOT_FOUND, 503: "The job queue is unreachable."})
def sensor_jobs(sensor_id: int):
    """Recent jobs (waiting, running, finished, failed) working on one of your sensors:
    the 100 newest, newest first."""
    with transactional() as session:
        sensor = _visible_sensor(session, sensor_id, "sensor", sensor_id)
        return recent_jobs_of_sensor(
            queue_connection(), session, sensor, app_settings().jobs.horizons, QUEUE_NAMES
        )


def _visible_sensor(session, sensor_id: int | None, what: str, identifier):
    sensor = None if sensor_id is None else find_sensor(session, sensor_id, account_scope())
    if sensor is None:
        not_found(what, identifier)
    return sensor


def queue_connection():
    """Redis, or a 503 that says the job queue is unreachable."""
    connection = redis_connection(current_app.config["REDIS_URL"])
    try:
        connection.ping()
    except RedisError:
        abort(503, message="The job queue is unreachable; try again shortly.")
    return connection
