"""A real in-process worker forecasts the sensors waiting for the same origin and horizon
in one batch: each job its own result and record, one write for all."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from rq.job import Job
from sqlalchemy import func, select

from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.models import DataSource, Sensor, TimedBelief
from bvp.data.models.job_runs import FINISHED, JobRun
from bvp.data.models.trained_models import TrainedModel
from bvp.forecasting.enqueue import create_forecasting_jobs
from tests.conftest import job_settings, run_worker

ORIGIN = pd.Timestamp("2024-06-03T00:00Z")
DAY = timedelta(days=1)
IN_PROCESS = ("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")


@pytest.fixture
def fleet(db, sensor) -> list[int]:
    """Four sensors on one asset, each with two days of its own quarter-hours."""
    more = [
        Sensor(
            name=f"power {n}",
            unit="kW",
            event_resolution=timedelta(minutes=15),
            timezone="Europe/Amsterdam",
            asset=sensor.asset,
        )
        for n in range(3)
    ]
    db.add_all(more)
    db.flush()
    ids = [sensor.id, *(s.id for s in more)]
    events = pd.date_range(ORIGIN - 2 * DAY, ORIGIN, freq="15min", inclusive="left")
    for n, sensor_id in enumerate(ids):
        save_beliefs(
            db,
            {"event_start": events, "event_value": np.arange(len(events)) * (n + 1.0)},
            sensor_id=sensor_id,
            source_id=1,
            belief_time=ORIGIN.to_pydatetime(),
        )
    db.commit()
    return ids


def forecast_counts(db, sensor_id: int) -> dict[pd.Timestamp, int]:
    rows = db.execute(
        select(TimedBelief.belief_time, func.count())
        .join(DataSource, DataSource.id == TimedBelief.source_id)
        .where(TimedBelief.sensor_id == sensor_id, DataSource.type == "forecaster")
        .group_by(TimedBelief.belief_time)
    ).all()
    db.rollback()
    return {pd.Timestamp(t): n for t, n in rows}


def finished_runs(db, job_id: str) -> int:
    count = db.scalar(
        select(func.count())
        .select_from(JobRun)
        .where(JobRun.job_id == job_id, JobRun.status == FINISHED)
    )
    db.rollback()
    return count


def test_sensors_waiting_for_one_origin_are_forecast_in_one_batch(db, redis, fleet):
    job_ids = create_forecasting_jobs(redis, job_settings(), fleet, ORIGIN.to_pydatetime(), [DAY])
    assert len(job_ids) == 4

    output = run_worker(*IN_PROCESS)

    jobs = Job.fetch_many(job_ids, connection=redis)
    assert [job.get_status() for job in jobs] == ["finished"] * 4
    batches = [job.latest_result().return_value["batch"] for job in jobs]
    assert {b["job"] for b in batches} == {job_ids[0]}  # one batch, led by the first job
    assert batches[0]["sensors"] == 4 and batches[0]["failed"] == 0
    assert batches[0]["created"] == 4 * 96  # one write for all: a day of medians each
    for n, (sensor_id, job) in enumerate(zip(fleet, jobs, strict=True)):
        assert job.latest_result().return_value["stored"] == 96
        assert forecast_counts(db, sensor_id) == {ORIGIN: 96}  # stored once
        forecast = latest_beliefs(db, sensor_id, ORIGIN, ORIGIN + DAY)
        yesterday = latest_beliefs(db, sensor_id, ORIGIN - DAY, ORIGIN)
        # each sensor's own forecast (naive: yesterday's values), not a neighbour's
        np.testing.assert_array_equal(forecast["event_value"], yesterday["event_value"])
        assert yesterday["event_value"].iloc[1] == (n + 1.0) * 97
        assert finished_runs(db, job.id) == 1
    db.rollback()
    assert "Worker" in output or output == ""  # the worker ran to its end


def test_a_sensor_failing_in_a_batch_fails_only_its_own_job(db, redis, fleet):
    settings = job_settings(retries=0)
    good = create_forecasting_jobs(redis, settings, fleet[:3], ORIGIN.to_pydatetime(), [DAY])
    # a model this version no longer has (asked for while the job waited)
    [bad] = create_forecasting_jobs(
        redis, settings, fleet[3:], ORIGIN.to_pydatetime(), [DAY], model="retired-model"
    )

    run_worker(*IN_PROCESS)

    failed = Job.fetch(bad, connection=redis)
    assert failed.get_status() == "failed"
    assert "retired-model" in failed.latest_result().exc_string
    assert forecast_counts(db, fleet[3]) == {}
    for job_id, sensor_id in zip(good, fleet[:3], strict=True):
        job = Job.fetch(job_id, connection=redis)
        assert job.get_status() == "finished"
        batch = job.latest_result().return_value["batch"]
        assert (batch["job"], batch["sensors"], batch["failed"]) == (good[0], 4, 1)
        assert forecast_counts(db, sensor_id) == {ORIGIN: 96}
    runs = db.execute(select(JobRun.job_id, JobRun.status, JobRun.error)).all()
    db.rollback()
    assert sorted((j, s) for j, s, _ in runs) == sorted(
        [(j, "finished") for j in good] + [(bad, "failed")]
    )
    assert "retired-model" in next(e for j, _, e in runs if j == bad)


def test_a_claim_takes_only_waiting_jobs_of_other_sensors_for_the_same_window(redis):
    from bvp.forecasting.batches import claim_fellow_jobs
    from bvp.queues import get_queue

    settings = job_settings()
    later = ORIGIN + pd.Timedelta(minutes=15)
    first = create_forecasting_jobs(redis, settings, [1, 2], ORIGIN.to_pydatetime(), [DAY])
    other = create_forecasting_jobs(redis, settings, [3], later.to_pydatetime(), [DAY])
    rest = create_forecasting_jobs(redis, settings, [4, 5, 6], ORIGIN.to_pydatetime(), [DAY])
    queue = get_queue(redis, "forecasting")
    redis.rpush(queue.key, first[1])  # the same job twice (as a retry of an abandoned one may)
    taken = redis.lpop(queue.key).decode()  # what a worker's dequeue hands it
    assert taken == first[0]

    claimed = claim_fellow_jobs(redis, queue.key, queue.intermediate_queue_key, taken, 3)

    assert claimed == [first[1], *rest[:2]]  # in queue order, at most 3, another origin left
    assert queue.get_job_ids() == [*other, rest[2], first[1]]  # the rest wait as they were
    assert [i.decode() for i in redis.lrange(queue.intermediate_queue_key, 0, -1)] == claimed
    assert claim_fellow_jobs(redis, queue.key, queue.intermediate_queue_key, other[0], 5) == []


def test_a_batch_forecasts_from_stored_fits_what_each_job_alone_does(db, redis, fleet, monkeypatch):
    """A learned model (LightGBM, fitted and stored by the first run) forecasts the same
    in a batch as one job at a time, and as the fresh fit that stored it."""
    events = pd.date_range(ORIGIN - 20 * DAY, ORIGIN - 2 * DAY, freq="15min", inclusive="left")
    daily = np.sin(2 * np.pi * (events.hour * 4 + events.minute // 15) / 96)
    noise = np.random.default_rng(7).normal(0, 0.1, (len(fleet), len(events)))
    for n, sensor_id in enumerate(fleet):  # three weeks of a daily shape before the two days
        save_beliefs(
            db,
            {"event_start": events, "event_value": (n + 1.0) * (2 + daily) + noise[n]},
            sensor_id=sensor_id,
            source_id=1,
            belief_time=ORIGIN.to_pydatetime(),
        )
    db.commit()
    settings = job_settings()

    def forecasts(batch_size: int) -> dict[int, np.ndarray]:
        monkeypatch.setenv("BVP_FORECAST_BATCH_SIZE", str(batch_size))
        ids = create_forecasting_jobs(
            redis, settings, fleet, ORIGIN.to_pydatetime(), [DAY], model="lightgbm"
        )
        run_worker(*IN_PROCESS)
        jobs = Job.fetch_many(ids, connection=redis)
        assert [job.get_status() for job in jobs] == ["finished"] * len(fleet)
        results = [job.latest_result().return_value for job in jobs]
        assert {r["model"] for r in results} == {"lightgbm"}
        assert [r["stored"] for r in results] == [96] * len(fleet)  # alone or batched
        sizes = {r["batch"]["sensors"] if "batch" in r else 1 for r in results}
        assert sizes == {len(fleet) if batch_size > 1 else 1}
        made = {
            sensor_id: latest_beliefs(db, sensor_id, ORIGIN, ORIGIN + DAY)["event_value"].to_numpy()
            for sensor_id in fleet
        }
        forecasters = select(DataSource.id).where(DataSource.type == "forecaster")
        db.execute(TimedBelief.__table__.delete().where(TimedBelief.source_id.in_(forecasters)))
        db.commit()
        return made

    fresh = forecasts(batch_size=1)  # each fits LightGBM and stores it
    stored = db.scalars(select(TrainedModel.model).where(TrainedModel.sensor_id.in_(fleet)))
    assert list(stored) == ["lightgbm"] * len(fleet)
    db.rollback()
    alone = forecasts(batch_size=1)  # each from its stored fit
    batched = forecasts(batch_size=50)  # all four from their stored fits, in one batch
    for sensor_id in fleet:
        assert len(fresh[sensor_id]) == 96
        np.testing.assert_array_equal(alone[sensor_id], fresh[sensor_id])
        np.testing.assert_array_equal(batched[sensor_id], alone[sensor_id])
    assert not np.array_equal(fresh[fleet[0]], fresh[fleet[1]])  # each its own model
