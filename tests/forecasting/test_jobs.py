"""Job creation on a (fake) Redis: deterministic ids, no duplicate queued work."""

import importlib
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from pydantic import ValidationError
from rq import Queue
from rq.job import Job, JobStatus

from bvp.forecasting import jobs
from bvp.forecasting.enqueue import (
    FORECAST_JOB,
    SELECTION_JOB,
    TRAINING_JOB,
    create_forecasting_jobs,
    enqueue_model_selection,
    enqueue_training,
)
from bvp.forecasting.horizons import covering_horizons
from bvp.forecasting.job_ids import (
    ForecastWindow,
    forecast_job_id,
    forecast_window,
    model_selection_job_id,
    sensor_of_job,
    training_job_id,
)
from bvp.forecasting.settings import JobSettings, parse_horizons
from tests.conftest import job_settings

ORIGIN = datetime(2024, 6, 3, tzinfo=UTC)
HORIZONS = [timedelta(hours=6), timedelta(days=2)]  # fits of their own: a job each


@pytest.fixture
def fake_redis():
    return fakeredis.FakeStrictRedis()


def test_job_ids_say_what_is_forecast():
    assert forecast_job_id(7, timedelta(hours=6), ORIGIN) == "forecast-s7-h21600-o20240603T000000Z"


def test_horizons_from_configuration():
    assert parse_horizons("PT1H, PT6H,P1D") == [
        timedelta(hours=1),
        timedelta(hours=6),
        timedelta(days=1),
    ]


def test_horizons_one_fit_serves_share_the_job_of_the_longest(fake_redis):
    configured = parse_horizons("PT1H,PT6H,P1D,P2D")
    assert covering_horizons(configured) == [timedelta(days=1), timedelta(days=2)]
    job_ids = create_forecasting_jobs(fake_redis, job_settings(), [7], ORIGIN, configured)
    assert job_ids == [
        "forecast-s7-h86400-o20240603T000000Z",
        "forecast-s7-h172800-o20240603T000000Z",
    ]
    assert Queue("forecasting", connection=fake_redis).count == 2


def test_the_same_work_is_not_queued_twice(fake_redis):
    first = create_forecasting_jobs(fake_redis, job_settings(), [1, 2], ORIGIN, HORIZONS)
    second = create_forecasting_jobs(fake_redis, job_settings(), [1, 2], ORIGIN, HORIZONS)
    assert first == second and len(first) == 4
    assert Queue("forecasting", connection=fake_redis).count == 4


def test_new_origin_is_new_work(fake_redis):
    create_forecasting_jobs(fake_redis, job_settings(), [1], ORIGIN, HORIZONS)
    create_forecasting_jobs(
        fake_redis, job_settings(), [1], ORIGIN + timedelta(minutes=15), HORIZONS
    )
    assert Queue("forecasting", connection=fake_redis).count == 4


def test_unknown_queue_is_refused():
    with pytest.raises(ValidationError, match="'fast' is not one of forecasting"):
        JobSettings.model_validate({**job_settings().model_dump(), "queue": "fast"})


def test_a_forecast_job_id_says_its_window_and_nothing_else_does():
    job_id = forecast_job_id(7, timedelta(hours=6), ORIGIN)
    assert forecast_window(job_id) == ForecastWindow(7, timedelta(hours=6), ORIGIN)
    for other in (
        model_selection_job_id(7),
        training_job_id(7, timedelta(days=1)),
        "forecast-s7-h21600-o20241399T000000Z",  # no such day
        "forecast-s7-trigger",
    ):
        assert forecast_window(other) is None, other
    assert sensor_of_job(training_job_id(7, timedelta(days=1))) == 7


def test_the_queued_job_functions_are_the_jobs_workers_run():
    """Queued by their dotted path (the enqueueing module does not import the jobs)."""
    for path, job in (
        (FORECAST_JOB, jobs.run_forecasting_job),
        (SELECTION_JOB, jobs.run_model_selection_job),
        (TRAINING_JOB, jobs.run_training_job),
    ):
        module, name = path.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name) is job


def test_model_work_is_queued_once_while_it_waits_as_forecasts_are(fake_redis):
    """Choosing and training go through the same check-then-enqueue as forecasts."""
    first = enqueue_model_selection(fake_redis, 3)
    assert enqueue_model_selection(fake_redis, 3) == first == model_selection_job_id(3)
    enqueue_training(fake_redis, 3, timedelta(days=1))
    enqueue_training(fake_redis, 3, timedelta(days=1))
    queue = Queue("model-selection", connection=fake_redis)
    assert sorted(queue.job_ids) == sorted([first, training_job_id(3, timedelta(days=1))])
    queue.remove(first)
    Job.fetch(first, connection=fake_redis).set_status(JobStatus.FINISHED)
    enqueue_model_selection(fake_redis, 3)  # done: a new choice may be queued
    assert first in queue.job_ids
    assert fake_redis.keys("bvp:enqueue-lock:*") == []


def test_racing_writers_queue_the_same_work_once(fake_redis):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda _: create_forecasting_jobs(
                    fake_redis, job_settings(), [1], ORIGIN, HORIZONS
                ),
                range(8),
            )
        )
    assert all(r == results[0] for r in results)
    assert Queue("forecasting", connection=fake_redis).count == 2


def test_enqueue_locks_are_let_go_with_the_jobs(fake_redis):
    # A lock left behind would silently keep the same work from being queued again for
    # ten seconds once the first jobs have run.
    job_ids = create_forecasting_jobs(fake_redis, job_settings(), [1, 2], ORIGIN, HORIZONS)
    assert fake_redis.keys("bvp:enqueue-lock:*") == []
    queue = Queue("forecasting", connection=fake_redis)
    for job_id in job_ids:  # as a worker would: taken off the queue, run, finished
        queue.remove(job_id)
        Job.fetch(job_id, connection=fake_redis).set_status(JobStatus.FINISHED)

    create_forecasting_jobs(fake_redis, job_settings(), [1, 2], ORIGIN, HORIZONS)

    assert sorted(queue.job_ids) == sorted(job_ids)
    assert fake_redis.keys("bvp:enqueue-lock:*") == []
