"""GET /api/v1/jobs/<id> and /api/v1/sensors/<id>/jobs: forecasting work, for its owners."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint, abort
from redis.exceptions import RedisError

from bvp.api.auth import account_scope, authenticate, not_found
from bvp.api.errors import NOT_FOUND, errors_documented
from bvp.api.schemas import JobSchema
from bvp.data.models.sensors import find_sensor
from bvp.data.transactional import transactional
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.job_status import job_status, jobs_by_id, recent_job_ids
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
    _visible_sensor(sensor_of_job(job_id), "job", job_id)
    return job_status(queue_connection(), job_id) or not_found("job", job_id)


@jobs.get("/sensors/<int:sensor_id>/jobs")
@jobs.response(200, JobSchema(many=True))
@errors_documented(jobs, {404: NOT_FOUND, 503: "The job queue is unreachable."})
def sensor_jobs(sensor_id: int):
    """Recent jobs (waiting, running, finished, failed) working on one of your sensors."""
    _visible_sensor(sensor_id, "sensor", sensor_id)
    connection = queue_connection()
    ids = [i for i in recent_job_ids(connection, QUEUE_NAMES) if sensor_of_job(i) == sensor_id]
    described = jobs_by_id(connection, ids)
    return sorted(described, key=lambda j: j.enqueued_at or j.ended_at, reverse=True)[:100]


def _visible_sensor(sensor_id: int | None, what: str, identifier) -> None:
    with transactional() as session:
        if sensor_id is None or find_sensor(session, sensor_id, account_scope()) is None:
            not_found(what, identifier)


def queue_connection():
    """Redis, or a 503 that says the job queue is unreachable."""
    connection = redis_connection(current_app.config["REDIS_URL"])
    try:
        connection.ping()
    except RedisError:
        abort(503, message="The job queue is unreachable; try again shortly.")
    return connection
