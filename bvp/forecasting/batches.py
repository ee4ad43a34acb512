"""Batches of forecast jobs, as an in-process worker runs them.

A worker that takes a forecast job also claims the forecast jobs of other sensors
waiting for the same origin and horizon (up to ``FORECAST_BATCH_SIZE`` in all) and
forecasts them together (``run_forecasting_batch``: one read, one write, one commit).
Each job stays a job of its own: its id (one per sensor and window, so the same work is
never queued twice), its start and heartbeats in rq's started registry, its result or
error, its retries and its ``job_run`` row; the result names the batch.

The claim is one Lua script, atomic in Redis: it takes the jobs off their queue and
puts them on the queue's intermediate list, where rq's own dequeue puts the job it hands
a worker (``BLMOVE``). The worker then marks them all started (one Redis transaction);
should it die in between, rq's maintenance fails (and so retries) a job left on the
intermediate list, as for a job rq itself dequeued. Should it die mid-batch, the
batch's transaction never commits and its jobs, started with heartbeats that stop, are
retried as abandoned by another worker, each once. Two workers never claim the same
job: whoever's script runs first takes it off the queue. Only jobs already waiting are
claimed; a worker never waits to fill a batch.
"""

from __future__ import annotations

import logging
import threading
import traceback

from redis import Redis
from redis.exceptions import RedisError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.timeouts import JobTimeoutException
from rq.utils import now
from rq.worker import WorkerStatus

from bvp.forecasting.job_ids import FORECAST_PREFIX, forecast_window
from bvp.forecasting.jobs import ForecastRequest, forecast_request, run_forecasting_batch

log = logging.getLogger(__name__)

# KEYS: the queue, its intermediate list. ARGV: the job taken (its id), the prefix and
# suffix of the ids that may join it, how many may, how far down the queue to look.
_CLAIM = """
local taken, prefix, suffix = ARGV[1], ARGV[2], ARGV[3]
local limit, depth = tonumber(ARGV[4]), tonumber(ARGV[5])
local seen, claimed = {[taken] = true}, {}
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, depth - 1)) do
  if #claimed >= limit then break end
  if not seen[id] and #id > #prefix + #suffix and string.sub(id, 1, #prefix) == prefix
      and string.sub(id, -#suffix) == suffix then
    seen[id] = true
    redis.call('LREM', KEYS[1], 1, id)
    redis.call('RPUSH', KEYS[2], id)
    claimed[#claimed + 1] = id
  end
end
return claimed
"""
# Jobs queue in the order their data arrived, so a batch's fellows are near the head.
_DEPTH_PER_SLOT = 20


def claim_fellow_jobs(
    connection: Redis, queue_key: str, intermediate_key: str, job_id: str, count: int
) -> list[str]:
    """Up to ``count`` waiting forecast jobs of other sensors for the same origin and
    horizon as ``job_id`` (a forecast job this worker took), taken off the queue (onto
    its intermediate list); their ids. Nothing for a job that is not a forecast."""
    window = forecast_window(job_id)
    if window is None or count < 1:
        return []
    # forecast-s<sensor>-h<seconds>-o<origin>: what follows the sensor names the window
    suffix = job_id[job_id.index("-h", len(FORECAST_PREFIX)) :]
    claimed = connection.eval(
        _CLAIM,
        2,
        queue_key,
        intermediate_key,
        job_id,
        f"{FORECAST_PREFIX}s",
        suffix,
        count,
        max(1000, count * _DEPTH_PER_SLOT),
    )
    return [c.decode() if isinstance(c, bytes) else c for c in claimed]


def give_back(connection: Redis, queue_key: str, intermediate_key: str, job_ids: list[str]) -> None:
    """Jobs claimed that cannot join the batch, back at the head of their queue."""
    if not job_ids:
        return
    with connection.pipeline() as pipe:
        for job_id in reversed(job_ids):
            pipe.lrem(intermediate_key, 1, job_id)
            pipe.lpush(queue_key, job_id)
        pipe.execute()


def fellow_jobs(worker, job: Job, queue) -> list[Job]:
    """The forecast jobs claimed to run with ``job`` (none when the worker does not
    batch, or ``job`` is no forecast)."""
    if worker.batch_size <= 1 or forecast_window(job.id) is None:
        return []
    try:
        lead = _request(job)
    except Exception:  # not a forecast as this version queues them: run it alone
        return []
    try:
        room = worker.batch_size - 1
        claimed = claim_fellow_jobs(
            worker.connection, queue.key, queue.intermediate_queue_key, job.id, room
        )
    except RedisError as error:  # the job runs alone
        log.warning("could not claim jobs to run with %s: %s", job.id, error)
        return []
    if not claimed:
        return []
    fetched = Job.fetch_many(claimed, connection=worker.connection, serializer=worker.serializer)
    fellows, back, gone = [], [], []
    for job_id, fellow in zip(claimed, fetched, strict=True):
        if fellow is None:  # deleted while it waited
            gone.append(job_id)
            continue
        try:
            fits = _request(fellow).batch_key == lead.batch_key
        except Exception:
            fits = False
        if fits:
            fellows.append(fellow)
        else:  # e.g. a replay's as_of: another batch
            back.append(job_id)
    for job_id in gone:
        worker.connection.lrem(queue.intermediate_queue_key, 1, job_id)
    give_back(worker.connection, queue.key, queue.intermediate_queue_key, back)
    return fellows


def run_batch(worker, jobs: list[Job], queue) -> None:
    """Start ``jobs`` (each in rq's started registry, with heartbeats), forecast them in
    one batch, then finish or fail each as rq does a job run alone."""
    executions = _start(worker, jobs, queue)
    stop = threading.Event()
    watchdog = threading.Thread(
        target=worker._watch,
        args=(jobs, lambda: _beat(worker, jobs, executions), stop),
        daemon=True,
    )
    watchdog.start()
    try:
        timeout = max(job.timeout or queue.DEFAULT_TIMEOUT for job in jobs)
        with worker.death_penalty_class(timeout, JobTimeoutException, job_id=jobs[0].id):
            outcomes = run_forecasting_batch([_request(job) for job in jobs], worker.connection)
    except Exception as error:  # the batch did not commit: every job failed
        outcomes = {job.id: error for job in jobs}
    finally:
        stop.set()
        watchdog.join()
    log.info("batch of %d forecast jobs led by %s ran", len(jobs), jobs[0].id)
    with worker.recording_together():
        for job in jobs:
            worker.execution = executions[job.id]
            try:
                _finish(worker, job, queue, outcomes[job.id])
            except Exception:  # Redis: the job stays started, and is retried as abandoned
                log.exception("could not finish job %s", job.id)
    worker.set_state(WorkerStatus.IDLE)


def _request(job: Job) -> ForecastRequest:
    return forecast_request(job.id, job.func_name, job.args, job.kwargs)


def _start(worker, jobs: list[Job], queue) -> dict[str, Execution]:
    """What rq does as it starts one job, for each (one Redis transaction)."""
    worker.current_job_working_time = 0
    executions = {}
    with worker.connection.pipeline() as pipe:
        worker.set_current_job_id(jobs[0].id, pipeline=pipe)
        worker.set_current_job_working_time(0, pipeline=pipe)
        for job in jobs:
            ttl = worker.get_heartbeat_ttl(job)
            executions[job.id] = Execution.create(job, ttl, pipeline=pipe, worker_name=worker.name)
            job.heartbeat(now(), ttl, pipeline=pipe)
            job.prepare_for_execution(worker.name, pipeline=pipe)
            pipe.lrem(queue.intermediate_queue_key, 1, job.id)
        worker.heartbeat(worker.get_heartbeat_ttl(jobs[0]), pipeline=pipe)
        worker.set_state(WorkerStatus.BUSY, pipeline=pipe)
        pipe.execute()
    return executions


def _beat(worker, jobs: list[Job], executions: dict[str, Execution]) -> None:
    """The heartbeats of the worker and of every job of its batch (one round trip)."""
    with worker.connection.pipeline() as pipe:
        worker.heartbeat(worker.job_monitoring_interval + 60, pipeline=pipe)
        for job in jobs:
            ttl = worker.get_heartbeat_ttl(job)
            executions[job.id].heartbeat(job.started_job_registry, ttl, pipeline=pipe)
            job.heartbeat(now(), ttl, pipeline=pipe, xx=True)
        pipe.execute()


def _finish(worker, job: Job, queue, outcome: dict | Exception) -> None:
    """rq's end of a job (``perform_job``): finished with its result, or failed (and
    retried if it has retries left) with its error."""
    registry = queue.started_job_registry
    if not isinstance(outcome, Exception):
        worker.handle_execution_ended(job, queue, job.success_callback_timeout)
        job._result = outcome
        job._status = JobStatus.FINISHED
        job.execute_success_callback(worker.death_penalty_class, outcome)
        worker.handle_job_success(job=job, queue=queue, started_job_registry=registry)
        job.send_webhooks(JobStatus.FINISHED)
        return
    job._status = JobStatus.FAILED
    worker.handle_execution_ended(job, queue, job.failure_callback_timeout)
    exc_info = (type(outcome), outcome, outcome.__traceback__)
    exc_string = "".join(traceback.format_exception(*exc_info))
    try:
        job.execute_failure_callback(worker.death_penalty_class, *exc_info)
    except Exception as error:
        exc_string = "".join(traceback.format_exception(error))
    worker.handle_exception(job, *exc_info)
    worker.handle_job_failure(
        job=job, exc_string=exc_string, queue=queue, started_job_registry=registry
    )
