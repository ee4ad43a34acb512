"""The jobs page: queue depths, workers alive, recent failures with their error text.

Queue depths and workers are the same for everyone; failures are shown for the user's
own sensors (all of them for admins), as the API's job routes do. When Redis cannot be
reached the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from bvp.config import app_settings
from bvp.data.models import Sensor
from bvp.data.models.sensors import sensors_in_scope
from bvp.data.transactional import transactional
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.job_status import JobInfo, jobs_by_id, recent_failed_job_ids
from bvp.queues import QUEUE_NAMES, queue_depths, redis_connection, unserved_queues, workers_alive
from bvp.ui import dashboard
from bvp.ui.auth import account_scope

RECENT_FAILURES = 25  # per queue, newest first


@dataclass
class JobsOverview:
    queues: list[dict] = field(default_factory=list)
    workers: list[dict] = field(default_factory=list)
    unserved: list[dict] = field(default_factory=list)  # queues with jobs and no worker
    failures: list[JobInfo] = field(default_factory=list)
    redis_error: str | None = None  # set when Redis could not be asked


@dashboard.get("/jobs")
def jobs():
    scope = account_scope()
    with transactional() as session:
        visible = None if scope is None else _sensor_ids(session, scope)
    overview = jobs_overview(app_settings().jobs.redis_url, visible)
    return render_template("jobs.html", title="Jobs", overview=overview)


def jobs_overview(redis_url: str, visible_sensors: set[int] | None) -> JobsOverview:
    """Queues, workers and failures; failures only of ``visible_sensors`` (None: all)."""
    try:
        connection = redis_connection(redis_url)
        queues = queue_depths(connection)
        workers = workers_alive(connection)
        waiting = {q["name"]: q["waiting"] for q in queues}
        return JobsOverview(
            queues=queues,
            workers=workers,
            unserved=[q for q in queues if q["name"] in unserved_queues(waiting, workers)],
            failures=recent_failures(connection, visible_sensors),
        )
    except (RedisError, OSError) as error:
        return JobsOverview(redis_error=f"{type(error).__name__}: {error}")


def recent_failures(connection: Redis, visible_sensors: set[int] | None) -> list[JobInfo]:
    failures = []
    for name in QUEUE_NAMES:
        job_ids = recent_failed_job_ids(connection, name, RECENT_FAILURES)
        if visible_sensors is not None:
            job_ids = [j for j in job_ids if sensor_of_job(j) in visible_sensors]
        failures += jobs_by_id(connection, job_ids)
    return sorted(failures, key=_newest_first)


def _newest_first(failure: JobInfo) -> tuple:
    moment = failure.ended_at or failure.enqueued_at
    return (moment is None, -(moment.timestamp() if moment else 0.0))


def _sensor_ids(session: Session, account_id: int) -> set[int]:
    return set(session.scalars(sensors_in_scope(account_id).with_only_columns(Sensor.id)))
