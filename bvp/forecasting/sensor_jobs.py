"""A sensor's recent jobs, for its owners: what ended, from the job runs workers record
in PostgreSQL, and what waits or runs, from Redis by the ids the sensor's jobs may have.

rq offers no list of one sensor's jobs; reading every id in every registry and fetching
the sensor's was a week of the whole fleet's jobs per request. Here the cost is the
sensor's own: its newest runs by an index, and a fixed set of job ids asked of Redis in
one round trip (plus one per job found, for its result).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy.orm import Session

from bvp.data.models import Sensor
from bvp.data.models.job_runs import JobRun, latest_job_runs
from bvp.forecasting.horizons import covering_horizons, reach
from bvp.forecasting.job_ids import (
    forecast_job_id,
    model_selection_job_id,
    sensor_of_job,
    training_job_id,
)
from bvp.forecasting.job_status import JobInfo, jobs_by_id
from bvp.forecasting.pipeline import forecast_origins
from bvp.queues import get_queue

SHOWN = 100
# Forecasts waiting from origins up to this long before the sensor's newest measurement
# are found by their ids (a queue that has not reached them for longer has bigger
# problems, which the jobs page shows); one of another origin shows once it starts.
WAITING_SINCE = timedelta(days=1)
MAX_ORIGINS = 96


def sensor_jobs(
    connection: Redis,
    session: Session,
    sensor: Sensor,
    horizons: Iterable[timedelta],
    queues: Iterable[str],
    limit: int = SHOWN,
) -> list[JobInfo]:
    """The sensor's ``limit`` most recent jobs (waiting, running, finished, failed),
    newest first: as rq knows them while it does, else as their last run was recorded."""
    runs = latest_job_runs(session, sensor.id, limit)
    live = waiting_job_ids(connection, session, sensor, horizons, queues)
    ids = list(dict.fromkeys([*live, *(run.job_id for run in runs)]))
    known = {info.id: info for info in jobs_by_id(connection, ids)}
    listed = {run.job_id: known.get(run.job_id) or _from_run(run) for run in runs}
    for job_id in live:
        if job_id in known and job_id not in listed:
            listed[job_id] = known[job_id]
    newest_first = sorted(listed.values(), key=_when, reverse=True)
    return newest_first[:limit]


def waiting_job_ids(
    connection: Redis,
    session: Session,
    sensor: Sensor,
    horizons: Iterable[timedelta],
    queues: Iterable[str],
) -> list[str]:
    """Ids the sensor's waiting or running jobs may have: its model choice, its
    trainings, its forecasts from origins of the last ``WAITING_SINCE`` (at the configured
    horizons), and its jobs among those running or waiting to be retried (few: a worker
    runs one at a time)."""
    sensor_id, resolution = sensor.id, sensor.event_resolution
    covering = covering_horizons(horizons)
    ids = [model_selection_job_id(sensor_id)]
    ids += [training_job_id(sensor_id, reach(h)) for h in dict.fromkeys(map(reach, covering))]
    origin = forecast_origins(session, [sensor_id]).get(sensor_id)
    if origin is not None:
        steps = min(MAX_ORIGINS, max(1, WAITING_SINCE // resolution))
        ids += [
            forecast_job_id(sensor_id, horizon, origin - step * resolution)
            for step in range(steps)
            for horizon in covering
        ]
    registries = [
        registry
        for name in queues
        for registry in (
            get_queue(connection, name).started_job_registry,
            get_queue(connection, name).scheduled_job_registry,
        )
    ]
    with connection.pipeline(transaction=False) as pipe:
        for registry in registries:
            pipe.zrange(registry.key, 0, -1)
        for registry, members in zip(registries, pipe.execute(), strict=True):
            found = (registry.parse_job_id(member) for member in members)
            ids += [job_id for job_id in found if sensor_of_job(job_id) == sensor_id]
    return list(dict.fromkeys(ids))


def _from_run(run: JobRun) -> JobInfo:
    """A job Redis no longer keeps, as its last attempt was recorded."""
    return JobInfo(
        id=run.job_id,
        queue=run.queue,
        status=run.status,
        description=None,
        enqueued_at=run.enqueued_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
        retries_left=None,
        error=run.error,
        result=None,
        traceback=None,
    )


def _when(job: JobInfo) -> datetime:
    return job.enqueued_at or job.ended_at or job.started_at or datetime.min.replace(tzinfo=UTC)
