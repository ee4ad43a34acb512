"""Queueing forecasting work on Redis, each job once: forecasts (with the configured
retries and timeout), and the background model work a forecast asks for (choosing a
sensor's model, retraining its stored fit).

Every job goes through ``enqueue_once``: a job whose id already waits or runs is left
as it is. The job functions are named by their dotted path (rq imports them in the
worker), so this module does not import the jobs that call it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from redis import Redis
from rq import Queue, Retry
from rq.queue import EnqueueData

from bvp.data.utc import iso_duration, to_utc
from bvp.forecasting.horizons import covering_horizons
from bvp.forecasting.job_ids import forecast_job_id, model_selection_job_id, training_job_id
from bvp.forecasting.job_status import WAITING, job_statuses
from bvp.forecasting.settings import JobSettings
from bvp.queues import get_queue, redis_connection

log = logging.getLogger(__name__)

FORECAST_JOB = "bvp.forecasting.jobs.run_forecasting_job"
SELECTION_JOB = "bvp.forecasting.jobs.run_model_selection_job"
TRAINING_JOB = "bvp.forecasting.jobs.run_training_job"
# Choosing and training run for seconds to minutes, on a queue served by a process of
# its own at the lowest CPU priority (bvp.cli.workers), so that no forecast waits.
BACKGROUND_QUEUE = "model-selection"
RETRY_INTERVALS = [10, 60, 300]
LOCK_SECONDS = 10


def enqueue_once(connection: Redis, queue: str, jobs: list[EnqueueData]) -> list[str]:
    """Queue each job unless one under its id waits or runs; the ids queued now.

    Check-then-enqueue under a short lock per job id, so two writers racing for the same
    work queue it once; a job whose lock another process holds is being queued by it.
    Three Redis round trips however many jobs: take the locks, read the jobs' statuses,
    enqueue and let go of the locks (one transaction).
    """
    locks = {job.job_id: f"bvp:enqueue-lock:{job.job_id}" for job in jobs}
    with connection.pipeline(transaction=False) as pipe:
        for lock in locks.values():
            pipe.set(lock, 1, nx=True, ex=LOCK_SECONDS)
        taken = {job_id for job_id, ok in zip(locks, pipe.execute(), strict=True) if ok}
    if not taken:
        return []
    try:
        statuses = job_statuses(connection, sorted(taken))
        to_queue = [
            job for job in jobs if job.job_id in taken and statuses[job.job_id] not in WAITING
        ]
        with connection.pipeline() as pipe:
            if to_queue:
                get_queue(connection, queue).enqueue_many(to_queue, pipeline=pipe)
            pipe.delete(*(locks[job_id] for job_id in taken))
            pipe.execute()
    except BaseException:
        connection.delete(*(locks[job_id] for job_id in taken))  # the next writer may try
        raise
    return [job.job_id for job in to_queue]


def create_forecasting_jobs(
    connection: Redis,
    settings: JobSettings,
    sensor_ids: Iterable[int],
    origin: datetime,
    horizons: Iterable[timedelta] | None = None,
    *,
    model: str | None = None,
) -> list[str]:
    """Enqueue a job per sensor and covering horizon at ``origin`` (default horizons: the
    configured ones); return their ids, queued now or already waiting.

    Horizons served by the same fit share the job of the longest (``covering_horizons``:
    PT1H, PT6H and P1D are one day-ahead job, which stores the events of all three).
    Call this after the data's transaction has committed.
    """
    wanted = [
        forecast_job(settings, sensor_id, horizon, origin, model)
        for sensor_id in sensor_ids
        for horizon in covering_horizons(settings.horizons if horizons is None else horizons)
    ]
    enqueue_once(connection, settings.queue, wanted)
    job_ids = [job.job_id for job in wanted]
    log.debug("forecasting jobs: %s", job_ids)
    return job_ids


def forecast_job(
    settings: JobSettings,
    sensor_id: int,
    horizon: timedelta,
    origin: datetime,
    model: str | None = None,
) -> EnqueueData:
    """One forecast's job, retried with backoff and timed out as configured."""
    retries = settings.retries
    return Queue.prepare_data(
        FORECAST_JOB,
        (
            sensor_id,
            int(horizon.total_seconds()),
            to_utc(origin).isoformat(),
            None,  # as_of: the job reads what is known when it runs
        ),
        {"model_max_age_seconds": int(settings.model_max_age.total_seconds()), "model": model},
        job_id=forecast_job_id(sensor_id, horizon, origin),
        retry=Retry(max=retries, interval=RETRY_INTERVALS[:retries] or 10) if retries else None,
        timeout=settings.timeout,
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"forecast sensor {sensor_id} {iso_duration(horizon)} ahead "
        f"from {to_utc(origin):%Y-%m-%dT%H:%MZ}",
    )


def enqueue_forecasts(
    settings: JobSettings, origins: Mapping[int, datetime | None], *, model: str | None = None
) -> list[str]:
    """Jobs for every sensor with an origin, at every configured horizon; their ids.

    Call after the data's transaction committed. Raises RedisError if Redis is down.
    """
    connection = redis_connection(settings.redis_url)
    job_ids: list[str] = []
    for sensor_id, origin in origins.items():
        if origin is not None:
            job_ids += create_forecasting_jobs(
                connection, settings, [sensor_id], origin, model=model
            )
    return job_ids


def enqueue_model_selection(connection: Redis, sensor_id: int) -> str:
    """Queue a backtest that (re)chooses the sensor's model, unless one is waiting; its id."""
    job_id = model_selection_job_id(sensor_id)
    description = f"choose the forecasting model of sensor {sensor_id} by backtest"
    job = _background(job_id, SELECTION_JOB, (sensor_id,), description)
    enqueue_once(connection, BACKGROUND_QUEUE, [job])
    return job_id


def enqueue_training(connection: Redis, sensor_id: int, horizon: timedelta) -> str:
    """Queue the retraining of the sensor's stored model for ``horizon``, unless waiting."""
    job_id = training_job_id(sensor_id, horizon)
    args = (sensor_id, int(horizon.total_seconds()))
    description = f"train the {iso_duration(horizon)} forecasting model of sensor {sensor_id}"
    job = _background(job_id, TRAINING_JOB, args, description)
    enqueue_once(connection, BACKGROUND_QUEUE, [job])
    return job_id


def _background(job_id: str, function: str, args: tuple, description: str) -> EnqueueData:
    return Queue.prepare_data(
        function,
        args,
        job_id=job_id,
        timeout=3600,
        result_ttl=30 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=description,
    )
