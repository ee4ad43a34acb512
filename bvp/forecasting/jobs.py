"""Forecasting jobs on Redis: created after data commits, run by rq workers.

A job id says what it forecasts (sensor, horizon, origin), so the same work is not
queued twice while it waits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry, get_current_job
from rq.job import Job, JobStatus
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bvp.data.models.forecast_outbox import (
    drop_superseded_owed_forecasts,
    owed_forecasts,
    record_owed_forecasts,
    settle_owed_forecasts,
)
from bvp.data.models.sensors import sensors_using_as_regressor
from bvp.data.transactional import after_commit, transactional
from bvp.data.utc import iso_duration, parse_duration, to_utc, utcnow
from bvp.forecasting.horizons import covering_horizons, reach
from bvp.forecasting.threads import model_thread_limit
from bvp.queues import get_queue, redis_connection

log = logging.getLogger(__name__)

_WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED}
DONE = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
RETRY_INTERVALS = [10, 60, 300]


def forecast_job_id(sensor_id: int, horizon: timedelta, origin: datetime) -> str:
    origin = to_utc(origin, "origin")
    return f"forecast-s{sensor_id}-h{int(horizon.total_seconds())}-o{origin:%Y%m%dT%H%M%SZ}"


def parse_horizons(text: str) -> list[timedelta]:
    """'PT1H,PT6H,P1D' -> timedeltas."""
    return [parse_duration(part) for part in text.split(",") if part.strip()]


def create_forecasting_jobs(
    connection: Redis,
    sensor_ids: Iterable[int],
    origin: datetime,
    horizons: Iterable[timedelta],
    *,
    queue: str = "forecasting",
    retries: int = 3,
    timeout: int = 600,
    model_max_age: timedelta = timedelta(days=7),
    model: str | None = None,
) -> list[str]:
    """Enqueue a job per sensor and covering horizon at ``origin``; return their ids.

    Horizons served by the same fit share the job of the longest (``covering_horizons``:
    PT1H, PT6H and P1D are one day-ahead job, which stores the events of all three).
    A job that is already waiting or running under the same id is left as it is.
    Call this after the data's transaction has committed. Three Redis round trips
    however many jobs: take the enqueue locks, read the jobs' statuses, enqueue.
    """
    rq_queue = get_queue(connection, queue)
    wanted = {
        forecast_job_id(sensor_id, horizon, origin): (sensor_id, horizon)
        for sensor_id in sensor_ids
        for horizon in covering_horizons(horizons)
    }
    job_ids = list(wanted)
    # Check-then-enqueue under a short lock per job, so two writers racing for the same
    # work queue it once; a job whose lock another process holds is being queued by it.
    locks = {job_id: f"bvp:enqueue-lock:{job_id}" for job_id in job_ids}
    with connection.pipeline(transaction=False) as pipe:
        for lock in locks.values():
            pipe.set(lock, 1, nx=True, ex=10)
        taken = [job_id for job_id, ok in zip(job_ids, pipe.execute(), strict=True) if ok]
    if not taken:
        return job_ids
    try:
        statuses = job_statuses(connection, taken)
        to_queue = [job_id for job_id in taken if statuses[job_id] not in _WAITING]
        with connection.pipeline() as pipe:
            if to_queue:
                rq_queue.enqueue_many(
                    [
                        _job_data(
                            job_id, *wanted[job_id], origin, retries, timeout, model_max_age, model
                        )
                        for job_id in to_queue
                    ],
                    pipeline=pipe,
                )
            pipe.delete(*(locks[job_id] for job_id in taken))
            pipe.execute()  # one transaction: the jobs are queued and the locks let go
    except BaseException:
        connection.delete(*(locks[job_id] for job_id in taken))  # the next writer may try
        raise
    log.debug("forecasting jobs: %s", job_ids)
    return job_ids


def _job_data(
    job_id: str,
    sensor_id: int,
    horizon: timedelta,
    origin: datetime,
    retries: int,
    timeout: int,
    model_max_age: timedelta,
    model: str | None,
):
    return Queue.prepare_data(
        run_forecasting_job,
        (
            sensor_id,
            int(horizon.total_seconds()),
            to_utc(origin).isoformat(),
            None,  # as_of: the job reads what is known when it runs (see below)
        ),
        {"model_max_age_seconds": int(model_max_age.total_seconds()), "model": model},
        job_id=job_id,
        retry=Retry(max=retries, interval=RETRY_INTERVALS[:retries] or 10) if retries else None,
        timeout=timeout,
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
        description=f"forecast sensor {sensor_id} {iso_duration(horizon)} ahead "
        f"from {to_utc(origin):%Y-%m-%dT%H:%MZ}",
    )


def _is_waiting(connection: Redis, job_id: str) -> bool:
    return job_statuses(connection, [job_id])[job_id] in _WAITING


def job_statuses(connection: Redis, job_ids: list[str]) -> dict[str, JobStatus | None]:
    """Status per job id; None for a job Redis does not know (never queued, or expired)."""
    jobs = Job.fetch_many(job_ids, connection=connection)
    return {
        job_id: (job.get_status(refresh=False) if job is not None else None)
        for job_id, job in zip(job_ids, jobs, strict=True)
    }


@dataclass(frozen=True)
class JobSettings:
    """What enqueueing needs from the configuration (BVP_FORECAST_*, BVP_JOB_*)."""

    redis_url: str
    horizons: list[timedelta]
    queue: str = "forecasting"
    retries: int = 3
    timeout: int = 600
    model_max_age: timedelta = timedelta(days=7)

    def as_job_kwargs(self) -> dict:
        """Plain values, for passing these settings to a job."""
        return {
            "redis_url": self.redis_url,
            "horizons": [h.total_seconds() for h in self.horizons],
            "queue": self.queue,
            "retries": self.retries,
            "timeout": self.timeout,
            "model_max_age": self.model_max_age.total_seconds(),
        }

    def __post_init__(self) -> None:  # accept the plain values of as_job_kwargs()
        horizons = [h if isinstance(h, timedelta) else timedelta(seconds=h) for h in self.horizons]
        object.__setattr__(self, "horizons", horizons)
        if not isinstance(self.model_max_age, timedelta):
            object.__setattr__(self, "model_max_age", timedelta(seconds=self.model_max_age))

    @classmethod
    def from_config(cls, config: Mapping) -> JobSettings:
        return cls(
            redis_url=config["REDIS_URL"],
            horizons=parse_horizons(config["FORECAST_HORIZONS"]),
            queue=config["FORECAST_QUEUE"],
            retries=config["JOB_RETRIES"],
            timeout=config["JOB_TIMEOUT_SECONDS"],
            model_max_age=timedelta(days=config["MODEL_MAX_AGE_DAYS"]),
        )


def enqueue_forecasts(settings: JobSettings, origins: Mapping[int, datetime | None]) -> list[str]:
    """Jobs for every sensor with an origin, at every configured horizon; their ids.

    Call after the data's transaction committed. Raises RedisError if Redis is down.
    """
    connection = redis_connection(settings.redis_url)
    job_ids: list[str] = []
    for sensor_id, origin in origins.items():
        if origin is not None:
            job_ids += create_forecasting_jobs(
                connection,
                [sensor_id],
                origin,
                settings.horizons,
                queue=settings.queue,
                retries=settings.retries,
                timeout=settings.timeout,
                model_max_age=settings.model_max_age,
            )
    return job_ids


@dataclass
class PendingJobs:
    """Filled in once the data's transaction has committed."""

    job_ids: list[str] = field(default_factory=list)
    redis_unreachable: bool = False


def enqueue_after_commit(session: Session, sensor_id: int, settings: JobSettings) -> PendingJobs:
    """Forecasts for the sensor, and for sensors using it as a regressor, once committed.

    They are owed in the outbox within the data's own transaction, so a failure to reach
    Redis (or a crash right after commit) loses nothing: a worker enqueues them later.
    """
    from bvp.forecasting.pipeline import forecast_origins

    targets = [sensor_id, *sensors_using_as_regressor(session, sensor_id)]
    origins = forecast_origins(session, targets)
    record_owed_forecasts(session, origins)
    pending = PendingJobs()

    def enqueue() -> None:
        try:
            pending.job_ids.extend(enqueue_forecasts(settings, origins))
        except RedisError:
            log.warning("Redis unreachable: forecasting jobs owed in the outbox")
            pending.redis_unreachable = True
            return
        try:
            with transactional() as settle:
                owed = [(s, o) for s, o in origins.items() if o is not None]
                settle_owed_forecasts(settle, owed)
        except SQLAlchemyError as error:  # the jobs are queued; a drain settles them later
            log.warning("could not settle the forecast outbox: %s", error)

    after_commit(enqueue)
    return pending


def owe_forecasts(session: Session, sensor_id: int) -> None:
    """Record, in the data's transaction, the forecasts its new data calls for (for the
    sensor and the sensors using it as a regressor), without enqueueing them yet.

    For bulk loads: ``enqueue_newest_owed`` enqueues them once the load is done; if the
    process dies first, workers drain the outbox, so nothing is lost.
    """
    from bvp.forecasting.pipeline import forecast_origins

    targets = [sensor_id, *sensors_using_as_regressor(session, sensor_id)]
    record_owed_forecasts(session, forecast_origins(session, targets))


def enqueue_newest_owed(
    session: Session, sensor_ids: Iterable[int], settings: JobSettings
) -> list[PendingJobs]:
    """After a bulk load: drop owed origins superseded by newer ones (a forecast from the
    middle of a back-fill helps no one), and enqueue the newest once the caller commits."""
    sensor_ids = sorted(set(sensor_ids))
    targets = set(sensor_ids)
    for sensor_id in sensor_ids:
        targets.update(sensors_using_as_regressor(session, sensor_id))
    drop_superseded_owed_forecasts(session, sorted(targets))
    return [enqueue_after_commit(session, sensor_id, settings) for sensor_id in sensor_ids]


def drain_owed_forecasts(settings: JobSettings) -> list[str]:
    """Enqueue every forecast the outbox still owes; their job ids. One transaction."""
    with transactional() as session:
        owed = owed_forecasts(session)
        job_ids: list[str] = []
        for sensor_id, origins in owed.items():
            for origin in origins:
                job_ids += enqueue_forecasts(settings, {sensor_id: origin})
        settle_owed_forecasts(session, [(s, o) for s, os in owed.items() for o in os])
    if job_ids:
        log.info("enqueued %d owed forecasting jobs", len(job_ids))
    return job_ids


def run_forecasting_job(
    sensor_id: int,
    horizon_seconds: int,
    origin: str,
    as_of: str | None = None,
    model_max_age_seconds: int = 7 * 24 * 3600,
    model: str | None = None,
) -> dict:
    """What a worker runs: one forecast, one transaction. If the sensor's model choice is
    missing or old, a model-selection job is queued for it (it runs after forecasts).

    The job reads the measurements known when it starts (``as_of`` is for replays): data
    committed while it waited in the queue is in its forecast.
    """
    from bvp.forecasting.pipeline import current_model, make_forecast, selection_is_stale
    from bvp.forecasting.store import stored_fit, training_due

    horizon = timedelta(seconds=horizon_seconds)
    with model_thread_limit(), transactional() as session:
        result = make_forecast(
            session,
            sensor_id,
            datetime.fromisoformat(origin),
            horizon,
            as_of=datetime.fromisoformat(as_of) if as_of else utcnow(),
            model=model,
        )
        model = model or current_model(session, sensor_id)
        stale = selection_is_stale(session, sensor_id, timedelta(seconds=model_max_age_seconds))
        retrain = training_due(
            stored_fit(session, sensor_id, horizon), datetime.fromisoformat(origin)
        )
    job = get_current_job()
    if stale and job is not None:
        enqueue_model_selection(job.connection, sensor_id)
    elif retrain and job is not None:
        enqueue_training(job.connection, sensor_id, reach(horizon))
    return {
        "model": model,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


def model_selection_job_id(sensor_id: int) -> str:
    return f"select-model-s{sensor_id}"


def enqueue_model_selection(connection: Redis, sensor_id: int) -> str | None:
    """Queue a backtest that (re)chooses the sensor's model, unless one is waiting."""
    return _enqueue_background(
        connection,
        model_selection_job_id(sensor_id),
        run_model_selection_job,
        (sensor_id,),
        f"choose the forecasting model of sensor {sensor_id} by backtest",
    )


def training_job_id(sensor_id: int, horizon: timedelta) -> str:
    return f"train-model-s{sensor_id}-{iso_duration(horizon)}"


def enqueue_training(connection: Redis, sensor_id: int, horizon: timedelta) -> str | None:
    """Queue the retraining of the sensor's stored model for ``horizon``, unless waiting."""
    return _enqueue_background(
        connection,
        training_job_id(sensor_id, horizon),
        run_training_job,
        (sensor_id, int(horizon.total_seconds())),
        f"train the {iso_duration(horizon)} forecasting model of sensor {sensor_id}",
    )


def _enqueue_background(connection: Redis, job_id: str, function, args, description) -> str | None:
    """Queue background model work (choosing, training) once: never while it waits. It
    runs on the model-selection queue, served by a low-priority process of its own."""
    lock = f"bvp:enqueue-lock:{job_id}"
    if not connection.set(lock, 1, nx=True, ex=10):
        return None
    try:
        if _is_waiting(connection, job_id):
            return None
        get_queue(connection, "model-selection").enqueue(
            function,
            *args,
            job_id=job_id,
            job_timeout=3600,
            result_ttl=30 * 24 * 3600,
            failure_ttl=30 * 24 * 3600,
            description=description,
        )
        return job_id
    finally:
        connection.delete(lock)


def run_model_selection_job(sensor_id: int) -> dict:
    """Backtest every model over the last 28 days; the lowest MASE forecasts from now on."""
    from bvp.forecasting.pipeline import retrain_stored_models, select_model

    with model_thread_limit(), transactional() as session:
        selection = select_model(session, sensor_id)
        trained = retrain_stored_models(session, sensor_id)
        return {"model": selection.model, "mase": selection.mase, "trained": trained}


def run_training_job(sensor_id: int, horizon_seconds: int) -> dict:
    """Fit the sensor's chosen model at its latest origin and store it for ``horizon``."""
    from bvp.forecasting.pipeline import train_model

    with model_thread_limit(), transactional() as session:
        return train_model(session, sensor_id, timedelta(seconds=horizon_seconds))


_SENSOR_IN_JOB_ID = re.compile(r"^(?:forecast|select-model|train-model)-s(\d+)(?:-|$)")


def sensor_of_job(job_id: str) -> int | None:
    """The sensor a BVP job id names (every job id says what it works on)."""
    found = _SENSOR_IN_JOB_ID.match(job_id)
    return int(found.group(1)) if found else None


def describe_job(job: Job) -> dict:
    """What operators and API clients want to know about a job."""
    result = job.latest_result()
    error = None
    if result is not None and result.exc_string:
        error = result.exc_string.strip().splitlines()[-1]
    return {
        "id": job.id,
        "queue": job.origin,
        "status": _status_text(job.get_status(refresh=False)),
        "description": job.description,
        "enqueued_at": rq_time(job.enqueued_at),
        "started_at": rq_time(job.started_at),
        "ended_at": rq_time(job.ended_at),
        "retries_left": job.retries_left,
        "error": error,
        "result": result.return_value if result is not None and not result.exc_string else None,
    }


def recent_job_ids(connection: Redis, queues: Iterable[str]) -> list[str]:
    """Ids of jobs waiting, running, finished or failed on ``queues`` (newest registries)."""
    ids: list[str] = []
    for name in queues:
        queue = get_queue(connection, name)
        ids += queue.get_job_ids()
        for registry in (
            queue.started_job_registry,
            queue.scheduled_job_registry,
            queue.failed_job_registry,
            queue.finished_job_registry,
        ):
            ids += registry.get_job_ids()
    return list(dict.fromkeys(ids))


def fetch_jobs(connection: Redis, job_ids: list[str]) -> list[Job]:
    return [job for job in Job.fetch_many(job_ids, connection=connection) if job is not None]


def _status_text(status: JobStatus | str | None) -> str:
    if status is None:
        return "unknown"
    return status.value if isinstance(status, JobStatus) else str(status)


def rq_time(moment: datetime | None) -> datetime | None:
    """rq keeps its times in UTC, sometimes without saying so (naive) after a round trip."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
