"""A real worker process consumes real jobs from real Redis and writes forecasts."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.models import DataSource
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.models import MODELS
from bvp.queues import get_queue
from tests.conftest import REPO, job_settings, run_worker

ORIGIN = pd.Timestamp("2024-06-03T00:00Z")


def measure_two_days(db, sensor):
    events = pd.date_range(ORIGIN - pd.Timedelta(days=2), ORIGIN, freq="15min", inclusive="left")
    save_beliefs(
        db,
        {"event_start": events, "event_value": np.arange(len(events), dtype=float)},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=ORIGIN.to_pydatetime(),
    )
    db.commit()


def test_flask_worker_consumes_jobs_and_writes_forecasts(db, redis, sensor):
    measure_two_days(db, sensor)
    horizons = [pd.Timedelta(hours=1).to_pytimedelta(), pd.Timedelta(days=1).to_pytimedelta()]
    job_ids = create_forecasting_jobs(
        redis, job_settings(), [sensor.id], ORIGIN.to_pydatetime(), horizons
    )

    run_worker("-m", "flask", "run_forecasting_worker", "--burst", "--name", "test-w1")

    for job_id in job_ids:
        assert Job.fetch(job_id, connection=redis).get_status() == "finished"
    day_ahead = latest_beliefs(db, sensor.id, ORIGIN, ORIGIN + pd.Timedelta(days=1))
    assert len(day_ahead) == 96
    assert (day_ahead["belief_time"] == ORIGIN).all()
    yesterday = latest_beliefs(db, sensor.id, ORIGIN - pd.Timedelta(days=1), ORIGIN)
    np.testing.assert_array_equal(day_ahead["event_value"], yesterday["event_value"])
    source = db.get(DataSource, int(day_ahead["source_id"].iloc[0]))
    assert (source.type, source.model, source.version) == ("forecaster", "naive-1d", "2")


def test_a_failing_job_keeps_its_error_in_the_failed_registry(db, redis, sensor):
    job_ids = create_forecasting_jobs(
        redis,
        job_settings(retries=0),
        [9999],
        ORIGIN.to_pydatetime(),
        [pd.Timedelta(hours=1).to_pytimedelta()],
    )
    run_worker("worker.py", "--burst")
    job = Job.fetch(job_ids[0], connection=redis)
    assert job.get_status() == "failed"
    assert "sensor 9999 does not exist" in job.latest_result().exc_string
    assert job_ids[0] in Queue("forecasting", connection=redis).failed_job_registry
    assert db.scalars(select(DataSource).where(DataSource.type == "forecaster")).all() == []


def test_a_backtest_chooses_the_model_that_forecasts_from_then_on(db, redis, sensor):
    from bvp.data.models import ModelSelection

    events = pd.date_range(ORIGIN - pd.Timedelta(weeks=6), ORIGIN, freq="15min", inclusive="left")
    hours = (events.hour + events.minute / 60).to_numpy()
    noise = np.random.default_rng(4).normal(0, 0.2, len(events))
    values = np.sin(np.pi * np.clip(hours - 6, 0, 12) / 12) * 5 + noise
    save_beliefs(
        db,
        {"event_start": events, "event_value": values},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=ORIGIN.to_pydatetime(),
    )
    db.commit()
    settings = job_settings(horizons=(pd.Timedelta(days=1).to_pytimedelta(),))
    create_forecasting_jobs(redis, settings, [sensor.id], ORIGIN.to_pydatetime())
    run_worker()  # forecasts with the default model, then queues and runs the backtest
    selection = db.get(ModelSelection, sensor.id)
    assert selection is not None
    # every model was tried; the multiplicative one forecasts positive series only, and
    # this one is zero at night
    assert set(selection.scores) - {"ensemble"} == set(MODELS) - {"mstl-ets-log"}
    best = min(selection.scores, key=lambda m: selection.scores[m]["mase"])
    assert selection.model == best and selection.mase < 1.5
    # its p10-p90 band was calibrated on the same days, and held about 80 % there
    assert 0.7 <= selection.calibration["coverage"] <= 0.9

    later = ORIGIN + pd.Timedelta(hours=1)
    create_forecasting_jobs(redis, settings, [sensor.id], later.to_pydatetime())
    run_worker()
    made_later = latest_beliefs(db, sensor.id, later, later + pd.Timedelta(hours=1))
    source = db.get(DataSource, int(made_later["source_id"].iloc[0]))
    assert source.model == selection.model
    window = (later, later + pd.Timedelta(hours=1))
    p10, p90 = (
        latest_beliefs(db, sensor.id, *window, cumulative_probability=q) for q in (0.1, 0.9)
    )
    assert (p10["event_value"] <= made_later["event_value"]).all()
    assert (made_later["event_value"] <= p90["event_value"]).all()
    assert (p90["event_value"] - p10["event_value"]).mean() > 0


def test_another_accounts_sensor_is_never_a_regressor(db, sensor):
    from datetime import timedelta

    from bvp.data.models import Account, Asset, Sensor
    from bvp.data.models.sensors import regressors_of

    theirs = Sensor(
        name="their temperature",
        unit="°C",
        event_resolution=timedelta(minutes=15),
        asset=Asset(name="elsewhere", asset_type="weather", account=Account(name="other")),
    )
    ours = Sensor(
        name="our temperature",
        unit="°C",
        event_resolution=timedelta(minutes=15),
        asset_id=sensor.asset_id,
    )
    db.add_all([theirs, ours])
    db.flush()
    sensor.attributes = {"regressors": [theirs.id, ours.id]}
    db.commit()
    assert regressors_of(db, sensor) == [ours.id]


def report_cpu_priority() -> dict:
    """A job reporting the CPU priority of the work horse running it, and its worker's."""
    autogroup = Path("/proc/self/autogroup")
    return {
        "horse_nice": os.getpriority(os.PRIO_PROCESS, 0),
        "worker_nice": os.getpriority(os.PRIO_PROCESS, os.getppid()),
        "policy": os.sched_getscheduler(0),
        "autogroup": autogroup.read_text().strip() if autogroup.exists() else None,
    }


def autogroup_enabled() -> bool:
    enabled = Path("/proc/sys/kernel/sched_autogroup_enabled")
    return enabled.exists() and enabled.read_text().strip() == "1"


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling only")
@pytest.mark.parametrize("command", [("-m", "flask", "run_forecasting_worker"), ("worker.py",)])
def test_jobs_run_as_background_work_at_the_configured_niceness(redis, monkeypatch, command):
    job = get_queue(redis, "forecasting").enqueue(report_cpu_priority)
    monkeypatch.setenv("BVP_WORKER_NICENESS", "7")
    monkeypatch.setenv("BVP_WORKER_JOBS", "fork")  # a horse, and the worker that forked it

    printed = run_worker(*command, "--queue", "forecasting", "--burst")

    ours = os.getpriority(os.PRIO_PROCESS, 0)  # a worker only ever lowers its priority
    expected = max(ours, 7)
    seen = Job.fetch(job.id, connection=redis).return_value()
    assert (seen["worker_nice"], seen["horse_nice"]) == (expected, expected)
    assert seen["policy"] == os.SCHED_BATCH  # a waking horse does not preempt a request
    assert f"CPU priority: nice {expected}, SCHED_BATCH" in printed
    if autogroup_enabled():
        # The worker leads its own session here (as under systemd): with autogroup, the
        # session's group must be lowered too, or nice would not weigh against the API.
        assert seen["autogroup"].endswith(f"nice {expected}")
        assert f"session autogroup nice {expected}" in printed


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling only")
def test_niceness_0_leaves_workers_at_the_priority_they_were_started_with(redis, monkeypatch):
    job = get_queue(redis, "forecasting").enqueue(report_cpu_priority)
    monkeypatch.setenv("BVP_WORKER_NICENESS", "0")
    monkeypatch.setenv("BVP_WORKER_JOBS", "fork")

    printed = run_worker(
        "-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst"
    )

    ours = os.getpriority(os.PRIO_PROCESS, 0)
    seen = Job.fetch(job.id, connection=redis).return_value()
    assert (seen["worker_nice"], seen["horse_nice"]) == (ours, ours)
    assert seen["policy"] == os.sched_getscheduler(0)
    assert f"CPU priority: nice {ours} as started" in printed


def report_process() -> int:
    return os.getpid()


def test_in_process_workers_run_jobs_without_forking_and_keep_the_timeout(
    db, redis, sensor, monkeypatch
):
    """BVP_WORKER_JOBS=in-process: forecasts are written as with forked horses, every job
    runs in the worker's own process, and a job past its timeout still fails."""
    measure_two_days(db, sensor)
    monkeypatch.setenv("BVP_WORKER_JOBS", "in-process")
    day = [pd.Timedelta(days=1).to_pytimedelta()]
    forecast_jobs = create_forecasting_jobs(
        redis, job_settings(), [sensor.id], ORIGIN.to_pydatetime(), day
    )
    queue = get_queue(redis, "forecasting")
    pids = [queue.enqueue(report_process) for _ in range(2)]
    stuck = queue.enqueue("time.sleep", 30, job_timeout=1)

    printed = run_worker("worker.py", "--queue", "forecasting", "--burst")

    assert "jobs in its own process" in printed
    assert Job.fetch(forecast_jobs[0], connection=redis).get_status() == "finished"
    assert len(latest_beliefs(db, sensor.id, ORIGIN, ORIGIN + pd.Timedelta(days=1))) == 96
    assert len({Job.fetch(j.id, connection=redis).return_value() for j in pids}) == 1
    stuck = Job.fetch(stuck.id, connection=redis)
    assert stuck.get_status() == "failed"
    assert "JobTimeoutException" in stuck.latest_result().exc_string


def stuck_in_c_code() -> None:
    """As a job stuck in a C library: the timeout's SIGALRM never reaches Python code."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(60)


def test_an_in_process_job_stuck_past_its_timeout_ends_its_worker_to_be_restarted(
    redis, monkeypatch
):
    job = get_queue(redis, "forecasting").enqueue(stuck_in_c_code, job_timeout=1)
    env = {**os.environ, "BVP_ENV": "testing", "BVP_JOB_HEARTBEAT_SECONDS": "1"}
    started = time.monotonic()
    worker = subprocess.run(
        [sys.executable, "worker.py", "--queue", "forecasting", "--burst"],
        cwd=REPO,
        env={**env, "BVP_WORKER_JOBS": "in-process"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert worker.returncode == 75  # EX_TEMPFAIL: the process manager starts it again
    assert time.monotonic() - started < 30  # the timeout and three missed heartbeats
    assert f"job {job.id} outlived its timeout of 1 s" in worker.stderr
