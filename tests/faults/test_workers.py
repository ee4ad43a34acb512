"""Workers that die mid-job, and workers racing for the same job: one result each time.

A job is held mid-job by a lock on its sensor's row (see ``sensor_held``): it has read
its history and computed its forecast, and waits with its transaction open to write.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
import redis as redis_client
from rq import Queue, Retry
from rq.job import Job

from bvp.forecasting.enqueue import create_forecasting_jobs, forecast_job
from bvp.forecasting.job_ids import forecast_job_id
from bvp.forecasting.jobs import run_forecasting_job
from tests.conftest import job_settings
from tests.faults.conftest import (
    HORIZON,
    ORIGIN,
    ROWS_PER_FORECAST,
    children,
    each_finished_once,
    finished_runs,
    forecast_rows,
    jobs_waiting_at_the_write,
    process_env,
    seed_history,
    sensor_held,
    wait_for,
)

SCHEDULER_LOCK = "rq:scheduler-lock:forecasting"


def status(connection, job_id: str) -> str | None:
    job = Job.fetch_many([job_id], connection=connection)[0]
    return None if job is None else str(job.get_status(refresh=True).value)


def idle(connection, name: str) -> bool:
    return connection.hget(f"rq:worker:{name}", "state") == b"idle"


def current_jobs(connection, names) -> dict[str, str | None]:
    current = {n: connection.hget(f"rq:worker:{n}", "current_job") for n in names}
    return {n: job_id.decode() if job_id else None for n, job_id in current.items()}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("jobs", ["in-process", "fork"])
def test_a_job_whose_worker_is_killed_is_retried_by_another_and_written_once(
    pg, world, private_redis, redis_server, postgres_server, processes, jobs
):
    seed_history(pg, world.sensor_id, days=14)
    env = process_env(postgres_server, redis_server, BVP_WORKER_JOBS=jobs)
    workers = {name: processes.worker(name, env) for name in ("w1", "w2")}
    wait_for(
        lambda: all(idle(private_redis, n) for n in workers) and private_redis.get(SCHEDULER_LOCK),
        60,
        "both workers listen, one of them runs the scheduler",
    )
    origins = [ORIGIN, ORIGIN - timedelta(hours=1)]
    with sensor_held(pg, world.sensor_id):
        job_ids = [
            create_forecasting_jobs(private_redis, job_settings(), [world.sensor_id], o, [HORIZON])[
                0
            ]
            for o in origins
        ]
        wait_for(lambda: jobs_waiting_at_the_write(pg) == 2, 30, "both jobs are mid-job")
        running = current_jobs(private_redis, workers)
        assert sorted(running.values()) == sorted(job_ids)
        # Kill the worker that does not run the scheduler (which moves the retried job back
        # onto the queue; a dead scheduler's lock passes on only after 61 s: the scheduler
        # is a child process, so that worker has one more), with its work horse if it forks
        # one (rq gives it a process group of its own): a machine that dies takes both.
        victim = min(workers, key=lambda n: len(children(workers[n].pid)))
        horses = children(workers[victim].pid)
        assert len(horses) == (1 if jobs == "fork" else 0)
        os.killpg(workers[victim].pid, signal.SIGKILL)
        for horse in horses:
            os.killpg(horse, signal.SIGKILL)
        workers[victim].wait(10)
        killed_job = running[victim]
        assert status(private_redis, killed_job) == "started"  # as far as Redis knows

    wait_for(
        lambda: all(status(private_redis, j) == "finished" for j in job_ids),
        60,
        "the abandoned job is retried by the surviving worker and finishes",
    )
    assert forecast_rows(pg, world.sensor_id) == {o: ROWS_PER_FORECAST for o in origins}
    each_finished_once(pg, job_ids)
    assert Job.fetch(killed_job, connection=private_redis).retries_left == 2  # one spent
    survivor = next(w for n, w in workers.items() if n != victim)
    assert survivor.poll() is None


@pytest.mark.timeout(120)
def test_racing_enqueuers_queue_a_job_once(
    pg, world, private_redis, redis_server, postgres_server, processes
):
    seed_history(pg, world.sensor_id, days=14)
    env = process_env(postgres_server, redis_server)
    workers = {name: processes.worker(name, env) for name in ("w1", "w2")}
    wait_for(lambda: all(idle(private_redis, n) for n in workers), 60, "both workers listen")
    barrier = threading.Barrier(8)
    returned: list[list[str]] = []

    def enqueue() -> None:
        with redis_client.Redis.from_url(redis_server.url) as connection:  # a client each
            barrier.wait(10)
            returned.append(
                create_forecasting_jobs(
                    connection, job_settings(), [world.sensor_id], ORIGIN, [HORIZON]
                )
            )

    job_id = forecast_job_id(world.sensor_id, HORIZON, ORIGIN)
    with sensor_held(pg, world.sensor_id):  # the job cannot finish while others enqueue
        threads = [threading.Thread(target=enqueue) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert returned == [[job_id]] * 8
        wait_for(lambda: jobs_waiting_at_the_write(pg) >= 1, 30, "the job is mid-job")
        queue = Queue("forecasting", connection=private_redis)
        assert queue.count == 0  # not queued a second time behind the running one
        assert list(current_jobs(private_redis, workers).values()).count(job_id) == 1

    wait_for(
        lambda: (
            status(private_redis, job_id) == "finished"
            and all(idle(private_redis, n) for n in workers)
        ),
        30,
        "the job finished and both workers are idle",
    )
    assert queue.count == 0 and queue.started_job_registry.get_job_ids() == []
    assert finished_runs(pg, job_id) == 1
    assert forecast_rows(pg, world.sensor_id) == {ORIGIN: ROWS_PER_FORECAST}


@pytest.mark.timeout(120)
def test_two_workers_running_the_same_job_id_at_once_store_one_forecast(
    pg, world, private_redis, redis_server, postgres_server, processes
):
    """Bypassing BVP's enqueue lock (rq itself may, when it retries a job it takes for
    abandoned): the same id twice on the queue, run by two workers at the same time."""
    seed_history(pg, world.sensor_id, days=14)
    env = process_env(postgres_server, redis_server)
    workers = {name: processes.worker(name, env) for name in ("w1", "w2")}
    wait_for(lambda: all(idle(private_redis, n) for n in workers), 60, "both workers listen")
    job_id = forecast_job_id(world.sensor_id, HORIZON, ORIGIN)
    queue = Queue("forecasting", connection=private_redis)
    with sensor_held(pg, world.sensor_id):  # both are mid-job before either writes
        for _ in range(2):
            queue.enqueue(
                run_forecasting_job,
                world.sensor_id,
                int(HORIZON.total_seconds()),
                ORIGIN.isoformat(),
                None,  # as_of: as the job runs
                7 * 24 * 3600,  # the model choice's age limit
                job_id=job_id,
                retry=None,
            )
        wait_for(lambda: jobs_waiting_at_the_write(pg) == 2, 30, "both workers run the job")
        assert list(current_jobs(private_redis, workers).values()) == [job_id, job_id]

    wait_for(
        lambda: all(idle(private_redis, n) for n in workers) and queue.count == 0,
        30,
        "both runs ended",
    )
    assert status(private_redis, job_id) == "finished"
    assert forecast_rows(pg, world.sensor_id) == {ORIGIN: ROWS_PER_FORECAST}
    assert finished_runs(pg, job_id) == 2  # both attempts are on record, truthfully


def more_sensors(pg, sensor_id: int, count: int) -> list[int]:
    """``count`` more sensors beside ``sensor_id``, on its asset; their ids."""
    from bvp.data.models import Sensor

    with pg() as session:
        first = session.get(Sensor, sensor_id)
        made = [
            Sensor(
                name=f"power {n}",
                unit=first.unit,
                event_resolution=first.event_resolution,
                timezone=first.timezone,
                asset_id=first.asset_id,
            )
            for n in range(count)
        ]
        session.add_all(made)
        session.commit()
        return [s.id for s in made]


@pytest.mark.timeout(120)
def test_a_worker_killed_mid_batch_loses_nothing_every_sensor_is_forecast_once(
    pg, world, private_redis, redis_server, postgres_server, processes
):
    sensors = [world.sensor_id, *more_sensors(pg, world.sensor_id, 3)]
    for sensor_id in sensors:
        seed_history(pg, sensor_id, days=14)
    # BVP's jobs, queued together as a POST's are; retried without backoff (a retry
    # waits for no scheduler: the killed worker's would pass on only after 61 s)
    jobs = [
        forecast_job(job_settings(), s, HORIZON, ORIGIN)._replace(retry=Retry(max=3))
        for s in sensors
    ]
    queue = Queue("forecasting", connection=private_redis)
    queue.enqueue_many(jobs)
    job_ids = [job.job_id for job in jobs]
    env = process_env(postgres_server, redis_server)
    with sensor_held(pg, sensors[-1]):  # the batch's one write waits for this sensor
        victim = processes.worker("w1", env)
        wait_for(
            lambda: (
                jobs_waiting_at_the_write(pg) == 1
                and all(status(private_redis, j) == "started" for j in job_ids)
            ),
            60,
            "one worker runs the four jobs as one batch, waiting at its write",
        )
        assert queue.count == 0
        assert {Job.fetch(j, connection=private_redis).worker_name for j in job_ids} == {"w1"}
        survivor = processes.worker("w2", env)
        wait_for(lambda: idle(private_redis, "w2"), 60, "a second worker listens")
        os.killpg(victim.pid, signal.SIGKILL)  # the worker and its scheduler
        victim.wait(10)
        assert all(status(private_redis, j) == "started" for j in job_ids)  # as Redis knows

    wait_for(
        lambda: all(status(private_redis, j) == "finished" for j in job_ids),
        60,
        "the abandoned batch's jobs are retried by the surviving worker and finish",
    )
    for sensor_id in sensors:
        assert forecast_rows(pg, sensor_id) == {ORIGIN: ROWS_PER_FORECAST}
    each_finished_once(pg, job_ids)
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=private_redis)
        assert job.retries_left == 2  # one spent, on the killed batch
        assert job.worker_name == "w2"
    assert survivor.poll() is None
