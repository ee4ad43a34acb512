"""The forecasting workers: rq's SimpleWorker (jobs in the worker's process, the
default for forecasts) and its forking Worker (model selection and training), both
draining the forecast outbox and recording every job attempt.

It drains at start and with rq's periodic maintenance (every 10 minutes), so forecasts
owed while Redis was unreachable are queued once it is back, by whichever worker runs.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_WORKER_TTL
from rq.job import JobStatus
from rq.worker import WorkerStatus
from sqlalchemy.exc import SQLAlchemyError

from bvp.data.models.job_runs import FAILED, FINISHED, RETRIED, record_job_run
from bvp.data.transactional import transactional
from bvp.data.utc import utcnow
from bvp.forecasting.batches import fellow_jobs, run_batch
from bvp.forecasting.job_ids import sensor_of_job
from bvp.forecasting.job_status import rq_time
from bvp.forecasting.outbox import drain_owed_forecasts
from bvp.forecasting.settings import JobSettings, WorkerSettings
from bvp.forecasting.threads import limit_process_threads
from bvp.queues import get_queue, redis_connection

log = logging.getLogger(__name__)


class _Forecasting:
    """What every BVP worker adds to rq's: the outbox drained with maintenance, and one
    ``job_run`` row per attempt."""

    settings: JobSettings
    _runs: list[dict] | None = None  # a batch's job_run rows, written together

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
        self._record(attempt(job, queue.name, FINISHED))

    def handle_job_failure(self, job, queue, started_job_registry=None, exc_string=""):
        super().handle_job_failure(
            job, queue, started_job_registry=started_job_registry, exc_string=exc_string
        )
        # rq has re-queued (or scheduled) the job when it has retries left.
        status = FAILED if job.get_status(refresh=False) == JobStatus.FAILED else RETRIED
        self._record(attempt(job, queue.name, status, exc_string))

    def _record(self, run: dict) -> None:
        if self._runs is None:
            record_job_runs([run])
        else:
            self._runs.append(run)

    @contextmanager
    def recording_together(self) -> Iterator[None]:
        """The ``job_run`` rows of the jobs ended within, in one transaction at its end."""
        self._runs = []
        try:
            yield
        finally:
            runs, self._runs = self._runs, None
            if runs:
                record_job_runs(runs)


class InProcessForecastingWorker(_Forecasting, SimpleWorker):
    """Jobs run in the worker's own process: no fork per job, and what one job loaded
    (model libraries, stored models, connections) serves the next. A job's timeout
    raises in its Python code (rq's SIGALRM). A watchdog thread sends the job's
    heartbeats, as a forking worker does while its horse works, and ends the whole
    process if the job outlives its timeout by three heartbeats (stuck in C code or a
    socket): heartbeats stop, another worker retries the job as abandoned, and the
    process manager starts the worker again (exit status 75, EX_TEMPFAIL)."""

    batch_size = 1  # forecast jobs run together, at most (bvp.forecasting.batches)

    def execute_job(self, job, queue) -> None:
        batch = fellow_jobs(self, job, queue)
        if batch:
            run_batch(self, [job, *batch], queue)
            return
        self.prepare_execution(job)
        watchdog = threading.Thread(
            target=self._watch,
            args=([job], lambda: self.maintain_heartbeats(job), stop := threading.Event()),
            daemon=True,
        )
        watchdog.start()
        try:
            self.perform_job(job, queue)
        finally:
            stop.set()
            watchdog.join()
        self.set_state(WorkerStatus.IDLE)

    def _watch(self, jobs: list, beat: Callable[[], None], stop: threading.Event) -> None:
        """Heartbeats for ``jobs`` until ``stop``; the end of the worker if they outlive
        their timeout by three heartbeats."""
        started = time.monotonic()
        grace = 3 * self.job_monitoring_interval
        timeout = max((job.timeout or 0) for job in jobs)
        deadline = timeout + grace if timeout > 0 else None
        while not stop.wait(self.job_monitoring_interval):
            if deadline is not None and time.monotonic() - started > deadline:
                log.critical(
                    "job %s%s outlived its timeout of %s s by %s s: ending worker %s so "
                    "that another retries it",
                    jobs[0].id,
                    f" (and {len(jobs) - 1} more in its batch)" if len(jobs) > 1 else "",
                    timeout,
                    grace,
                    self.name,
                )
                logging.shutdown()
                os._exit(EXIT_STUCK)
            try:
                beat()
            except RedisError as error:  # the next beat may get through
                log.warning("heartbeat of job %s not sent: %s", jobs[0].id, error)


EXIT_STUCK = 75  # EX_TEMPFAIL: restart me


class ForecastingWorker(_Forecasting, Worker):
    """Each job in a work horse forked for it, killed at the job's timeout wherever it is."""


def attempt(job, queue: str, status: str, error: str = "") -> dict:
    """A job's attempt as its ``job_run`` row."""
    return {
        "job_id": job.id,
        "queue": queue,
        "status": status,
        "sensor_id": sensor_of_job(job.id),
        "enqueued_at": rq_time(job.enqueued_at),
        "started_at": rq_time(job.started_at),
        "ended_at": rq_time(job.ended_at) or utcnow(),
        "error": error.strip().splitlines()[-1][:1000] if error.strip() else None,
    }


def record_job_runs(runs: list[dict]) -> None:
    """One row per attempt in ``job_run`` for the monthly queue metrics (a batch's in one
    transaction); never fails a job."""
    try:
        with transactional() as session:
            for run in runs:
                record_job_run(session, **run)
    except SQLAlchemyError as problem:
        job_ids = ", ".join(run["job_id"] for run in runs)
        log.warning("could not record job %s for the metrics: %s", job_ids, problem)


def drain_safely(settings: JobSettings) -> None:
    try:
        drain_owed_forecasts(settings)
    except (RedisError, SQLAlchemyError) as error:  # try again at the next maintenance
        log.warning("could not drain the forecast outbox: %s", error)


AUTOGROUP = Path("/proc/self/autogroup")
AUTOGROUP_ENABLED = Path("/proc/sys/kernel/sched_autogroup_enabled")


def run_in_background(niceness: int) -> str:
    """Lower this process's CPU priority to that of background work; say what it runs at.

    Call it once as a worker starts, before it forks work horses: they inherit the nice
    value and the scheduling policy. The nice value is raised to ``niceness`` (never
    lowered: that needs privileges; 0 changes nothing at all), and the policy becomes
    SCHED_BATCH, so a waking work horse does not preempt a running API request. At nice
    10 a busy work horse weighs about a tenth of an API process on a shared core.

    With Linux's autogroup (``sched_autogroup_enabled``, on in most distributions), nice
    values only weigh among processes of one session: a worker leading its own session
    (a systemd service, ``setsid``) would compete with the API as a group of equal
    weight whatever its nice value, so that group's nice value is raised too. A worker
    sharing its session with other processes leaves the group alone.
    """
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return f"nice {_nice()} as started (BVP_WORKER_NICENESS={niceness})"
    if _nice() < niceness:
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    done = [f"nice {_nice()}"]
    if hasattr(os, "sched_setscheduler"):
        try:
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
            done.append("SCHED_BATCH")
        except OSError as error:
            done.append(f"scheduling policy unchanged ({error.strerror or error})")
    if _leads_own_autogroup():
        done.append(_raise_autogroup_nice(niceness))
    return ", ".join(done)


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0


def _leads_own_autogroup() -> bool:
    try:
        enabled = AUTOGROUP_ENABLED.read_text().strip() == "1"
        return enabled and AUTOGROUP.exists() and os.getsid(0) == os.getpid()
    except OSError:
        return False


def _raise_autogroup_nice(niceness: int) -> str:
    """The session's autogroup at ``niceness`` at least. The kernel lets unprivileged
    processes change an autogroup's nice value once per 100 ms, machine-wide: retry."""
    try:
        current = int(AUTOGROUP.read_text().split()[-1])  # "/autogroup-148 nice 0"
        if current >= niceness:
            return f"session autogroup nice {current}"
        for _ in range(40):
            try:
                AUTOGROUP.write_text(str(niceness))
                return f"session autogroup nice {niceness}"
            except OSError as error:
                if error.errno != errno.EAGAIN:
                    raise
                time.sleep(0.05)
        return "session autogroup nice unchanged (busy)"
    except (OSError, ValueError, IndexError) as error:
        return f"session autogroup nice unchanged ({error})"


def preload_models() -> None:
    """Import the model libraries once in the worker, not in every job it forks: rq's
    work horse is a fork that ends with its job, so what it imports dies with it. They
    take about 4 s (measured: bvp's models with scikit-learn and holidays 3.3 s,
    statsforecast 0.9 s, pvlib 0.3 s), which every job would pay again."""
    import lightgbm  # noqa: F401
    import pvlib.solarposition  # noqa: F401
    import sklearn.linear_model
    import sklearn.pipeline
    import sklearn.preprocessing  # noqa: F401
    import statsforecast.models  # noqa: F401

    import bvp.forecasting.backtest  # noqa: F401  (the models and their features)


def run_worker(
    settings: JobSettings,
    worker: WorkerSettings,
    queues: list[str],
    name: str | None = None,
    burst: bool = False,
    in_process: bool = False,
) -> bool:
    """Run a worker on ``queues`` until stopped (or, with ``burst``, until empty).

    Many workers, on one machine or many, may share the same Redis and PostgreSQL.
    The built-in scheduler moves retried jobs back onto their queue after the backoff.
    Every ``maintenance_seconds`` (also while idle) a worker re-queues the jobs of workers
    that died mid-job (silent for three ``heartbeat_seconds``) and drains the outbox.
    Each job's models run on ``model_threads`` threads (BVP_MODEL_THREADS); with
    ``in_process`` jobs run in this process instead of a forked work horse each.
    """
    maintenance_seconds = worker.maintenance_seconds
    limit_process_threads(worker.model_threads)  # before any job forks or loads a model library
    preload_models()
    connection = redis_connection(settings.redis_url)
    drain_safely(settings)
    worker_class = InProcessForecastingWorker if in_process else ForecastingWorker
    rq_worker = worker_class(
        [get_queue(connection, q) for q in queues],
        connection=connection,
        name=name,
        maintenance_interval=maintenance_seconds,
        job_monitoring_interval=worker.heartbeat_seconds,
        # An idle worker waits on Redis for (ttl - 15) s between maintenance checks.
        worker_ttl=min(DEFAULT_WORKER_TTL, maintenance_seconds + 15),
    )
    rq_worker.settings = settings
    rq_worker.batch_size = worker.batch_size
    return rq_worker.work(burst=burst, with_scheduler=True)
