"""The forecasting worker: rq's forking Worker, which also drains the forecast outbox.

It drains at start and with rq's periodic maintenance (every 10 minutes), so forecasts
owed while Redis was unreachable are queued once it is back, by whichever worker runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError
from rq import Worker
from rq.defaults import (
    DEFAULT_JOB_MONITORING_INTERVAL,
    DEFAULT_MAINTENANCE_TASK_INTERVAL,
    DEFAULT_WORKER_TTL,
)
from rq.job import JobStatus
from sqlalchemy.exc import SQLAlchemyError

from bvp.data.models.job_runs import FAILED, FINISHED, RETRIED, record_job_run
from bvp.data.transactional import transactional
from bvp.data.utc import utcnow
from bvp.forecasting.jobs import JobSettings, drain_owed_forecasts, sensor_of_job
from bvp.queues import get_queue, redis_connection

log = logging.getLogger(__name__)


class ForecastingWorker(Worker):
    settings: JobSettings

    def get_heartbeat_ttl(self, job) -> int:
        """How long a running job's worker may stay silent before another worker retries
        the job: three heartbeats (rq's own grace is a fixed 60 s beyond one; the same at
        rq's default 30 s heartbeat, shorter when heartbeats are more frequent)."""
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            return int(min(job.timeout - self.current_job_working_time, interval)) + 2 * interval
        return 3 * interval

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        drain_safely(self.settings)

    def handle_job_success(self, job, queue, started_job_registry):
        super().handle_job_success(job, queue, started_job_registry)
        record_attempt(job, queue.name, FINISHED)

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
        super().handle_job_failure(
            job, queue, started_job_registry=started_job_registry, exc_string=exc_string
        )
        # rq has re-queued (or scheduled) the job when it has retries left.
        status = FAILED if job.get_status(refresh=False) == JobStatus.FAILED else RETRIED
        record_attempt(job, queue.name, status, exc_string)


def record_attempt(job, queue: str, status: str, error: str = "") -> None:
    """One row per attempt in ``job_run`` for the monthly queue metrics; never fails a job."""
    try:
        with transactional() as session:
            record_job_run(
                session,
                job_id=job.id,
                queue=queue,
                status=status,
                sensor_id=sensor_of_job(job.id),
                enqueued_at=_rq_time(job.enqueued_at),
                started_at=_rq_time(job.started_at),
                ended_at=_rq_time(job.ended_at) or utcnow(),
                error=error.strip().splitlines()[-1][:1000] if error.strip() else None,
            )
    except SQLAlchemyError as problem:
        log.warning("could not record job %s for the metrics: %s", job.id, problem)


def _rq_time(moment: datetime | None) -> datetime | None:
    """rq keeps its times in UTC, sometimes without saying so (naive) after a round trip."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def drain_safely(settings: JobSettings) -> None:
    try:
        drain_owed_forecasts(settings)
    except (RedisError, SQLAlchemyError) as error:  # try again at the next maintenance
        log.warning("could not drain the forecast outbox: %s", error)


def run_worker(
    settings: JobSettings,
    queues: list[str],
    name: str | None = None,
    burst: bool = False,
    maintenance_seconds: int = DEFAULT_MAINTENANCE_TASK_INTERVAL,
    heartbeat_seconds: int = DEFAULT_JOB_MONITORING_INTERVAL,
) -> bool:
    """Run a worker on ``queues`` until stopped (or, with ``burst``, until empty).

    Many workers, on one machine or many, may share the same Redis and PostgreSQL.
    The built-in scheduler moves retried jobs back onto their queue after the backoff.
    Every ``maintenance_seconds`` (also while idle) a worker re-queues the jobs of workers
    that died mid-job (silent for three ``heartbeat_seconds``) and drains the outbox.
    """
    connection = redis_connection(settings.redis_url)
    drain_safely(settings)
    worker = ForecastingWorker(
        [get_queue(connection, q) for q in queues],
        connection=connection,
        name=name,
        maintenance_interval=maintenance_seconds,
        job_monitoring_interval=heartbeat_seconds,
        # An idle worker waits on Redis for (ttl - 15) s between maintenance checks.
        worker_ttl=min(DEFAULT_WORKER_TTL, maintenance_seconds + 15),
    )
    worker.settings = settings
    return worker.work(burst=burst, with_scheduler=True)
