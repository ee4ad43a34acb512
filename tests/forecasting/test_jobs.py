"""Job creation on a (fake) Redis: deterministic ids, no duplicate queued work."""

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from rq import Queue
from rq.job import Job, JobStatus

from bvp.forecasting.horizons import covering_horizons
from bvp.forecasting.jobs import create_forecasting_jobs, forecast_job_id, parse_horizons

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
    job_ids = create_forecasting_jobs(fake_redis, [7], ORIGIN, configured)
    assert job_ids == [
        "forecast-s7-h86400-o20240603T000000Z",
        "forecast-s7-h172800-o20240603T000000Z",
    ]
    assert Queue("forecasting", connection=fake_redis).count == 2


def test_the_same_work_is_not_queued_twice(fake_redis):
    first = create_forecasting_jobs(fake_redis, [1, 2], ORIGIN, HORIZONS)
    second = create_forecasting_jobs(fake_redis, [1, 2], ORIGIN, HORIZONS)
    assert first == second and len(first) == 4
    assert Queue("forecasting", connection=fake_redis).count == 4


def test_new_origin_is_new_work(fake_redis):
    create_forecasting_jobs(fake_redis, [1], ORIGIN, HORIZONS)
    create_forecasting_jobs(fake_redis, [1], ORIGIN + timedelta(minutes=15), HORIZONS)
    assert Queue("forecasting", connection=fake_redis).count == 4


def test_unknown_queue_is_refused(fake_redis):
    with pytest.raises(ValueError, match="unknown queue 'fast'"):
        create_forecasting_jobs(fake_redis, [1], ORIGIN, HORIZONS, queue="fast")


def test_racing_writers_queue_the_same_work_once(fake_redis):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda _: create_forecasting_jobs(fake_redis, [1], ORIGIN, HORIZONS), range(8))
        )
    assert all(r == results[0] for r in results)
    assert Queue("forecasting", connection=fake_redis).count == 2


def test_enqueue_locks_are_let_go_with_the_jobs(fake_redis):
    # A lock left behind would silently keep the same work from being queued again for
    # ten seconds once the first jobs have run.
    job_ids = create_forecasting_jobs(fake_redis, [1, 2], ORIGIN, HORIZONS)
    assert fake_redis.keys("bvp:enqueue-lock:*") == []
    queue = Queue("forecasting", connection=fake_redis)
    for job_id in job_ids:  # as a worker would: taken off the queue, run, finished
        queue.remove(job_id)
        Job.fetch(job_id, connection=fake_redis).set_status(JobStatus.FINISHED)

    create_forecasting_jobs(fake_redis, [1, 2], ORIGIN, HORIZONS)

    assert sorted(queue.job_ids) == sorted(job_ids)
    assert fake_redis.keys("bvp:enqueue-lock:*") == []
