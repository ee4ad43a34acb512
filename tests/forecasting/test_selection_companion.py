"""A worker started the default way chooses models in a companion process, so that a
forecast asked for while a selection runs is made at once, not after it; the companion
stops with its worker, and dies with it."""

import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
from rq.job import Job

from bvp.data.beliefs import latest_beliefs
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.queues import get_queue
from tests.conftest import REPO, job_settings
from tests.forecasting.test_worker import ORIGIN, measure_two_days


def hold_until_released(key: str) -> str:
    """Stands in for a long selection: runs on the model-selection queue until the test
    sets ``key``."""
    from rq import get_current_job

    connection = get_current_job().connection
    while not connection.get(key):
        time.sleep(0.05)
    return "released"


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def start_default_worker() -> tuple[subprocess.Popen, int]:
    """`flask run_forecasting_worker` as an operator starts it; its companion's pid."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "run_forecasting_worker", "--name", "companion-test"],
        cwd=REPO,
        env={**os.environ, "BVP_ENV": "testing", "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    line = wait_for(worker.stdout.readline, 60, "the worker's first line")
    found = re.search(r"Model selection runs beside it, in process (\d+)", line)
    assert found, line
    return worker, int(found.group(1))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_forecast_is_made_while_a_selection_runs(db, redis, sensor):
    measure_two_days(db, sensor)
    selection = get_queue(redis, "model-selection").enqueue(hold_until_released, "release")
    worker, companion = start_default_worker()
    try:
        wait_for(lambda: selection.get_status(refresh=True) == "started", 60, "selection runs")
        [job_id] = create_forecasting_jobs(
            redis,
            job_settings(),
            [sensor.id],
            ORIGIN.to_pydatetime(),
            [pd.Timedelta(hours=1).to_pytimedelta()],
        )
        forecast = Job.fetch(job_id, connection=redis)
        wait_for(lambda: forecast.get_status(refresh=True) == "finished", 60, "the forecast")
        # made while the selection still ran: it did not wait behind it
        assert selection.get_status(refresh=True) == "started"
        made = latest_beliefs(db, sensor.id, ORIGIN, ORIGIN + pd.Timedelta(hours=1))
        assert len(made) == 4
        redis.set("release", 1)
        wait_for(lambda: selection.get_status(refresh=True) == "finished", 60, "the selection")
    finally:
        redis.set("release", 1)
        worker.send_signal(signal.SIGTERM)  # as a process manager stops it
        worker.wait(timeout=60)
    wait_for(lambda: not alive(companion), 30, "the companion to stop with its worker")


def test_the_companion_dies_with_a_killed_worker(redis):
    worker, companion = start_default_worker()
    assert alive(companion)
    worker.kill()  # SIGKILL: no chance to stop its companion itself
    worker.wait(timeout=30)
    wait_for(lambda: not alive(companion), 30, "the kernel to end the orphaned companion")
