"""Redis and PostgreSQL going away under a running API and worker, and coming back."""

from __future__ import annotations

import sys

import pandas as pd
import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from bvp.data.models.forecast_outbox import ForecastOutbox
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.job_ids import forecast_job_id
from bvp.forecasting.job_status import recent_job_ids
from tests.conftest import job_settings
from tests.faults.conftest import (
    HORIZON,
    ORIGIN,
    ROWS_PER_FORECAST,
    each_finished_once,
    forecast_rows,
    jobs_waiting_at_the_write,
    log_of,
    process_env,
    seed_history,
    sensor_held,
    wait_for,
)


def day_of(start: pd.Timestamp) -> dict:
    return {"start": start.isoformat(), "duration": "P1D", "values": list(range(96)), "unit": "kW"}


def status(connection, job_id: str) -> str | None:
    job = Job.fetch_many([job_id], connection=connection)[0]
    return None if job is None else str(job.get_status(refresh=True).value)


def owed(pg) -> list[tuple[int, pd.Timestamp]]:
    with pg() as session:
        rows = session.execute(select(ForecastOutbox.sensor_id, ForecastOutbox.origin)).all()
    return sorted((s, pd.Timestamp(o)) for s, o in rows)


def idle(connection, name: str) -> bool:
    return connection.hget(f"rq:worker:{name}", "state") == b"idle"


@pytest.mark.timeout(120)
def test_data_posted_while_redis_is_down_is_stored_and_forecast_once_it_is_back(
    api, pg, world, private_redis, redis_server, postgres_server, processes
):
    env = process_env(postgres_server, redis_server)
    worker = processes.worker("w1", env)
    wait_for(lambda: idle(private_redis, "w1"), 60, "the worker listens")
    url = f"/api/v1/sensors/{world.sensor_id}/data"
    days = [pd.Timestamp("2024-06-01T00:00Z"), pd.Timestamp("2024-06-02T00:00Z")]
    origins = [d + pd.Timedelta(days=1) for d in days]  # the end of each posted day

    redis_server.stop()
    for start in days:
        response = api.client.post(url, json=day_of(start))
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["created"], result["jobs_pending"], result["forecasting_jobs"]) == (
            96,
            True,
            [],
        )
    health = api.client.get("/healthcheck")
    assert health.status_code == 503 and health.json()["failed"] == ["redis"]
    stored = api.client.get(url, params={"start": days[0].isoformat(), "end": origins[-1]})
    assert stored.json()["values"] == list(map(float, range(96))) * 2
    assert owed(pg) == [(world.sensor_id, o) for o in origins]

    # Redis is back (empty: it kept nothing). The running worker drains the outbox at its
    # next maintenance, and an operator runs enqueue-pending at the same time.
    redis_server.start()
    command = [sys.executable, "-m", "flask", "forecasts", "enqueue-pending"]
    operator = processes.start("enqueue-pending", command, env)
    assert operator.wait(60) == 0, log_of(operator)
    job_ids = [forecast_job_id(world.sensor_id, HORIZON, o) for o in origins]
    wait_for(
        lambda: all(status(private_redis, j) == "finished" for j in job_ids),
        60,
        "the owed forecasts are queued and run",
    )
    assert owed(pg) == []
    assert forecast_rows(pg, world.sensor_id) == {o: ROWS_PER_FORECAST for o in origins}
    each_finished_once(pg, job_ids)
    assert sorted(recent_job_ids(private_redis, ["forecasting"])) == sorted(job_ids)
    assert worker.poll() is None, "the worker did not survive the outage"
    assert api.process.poll() is None


@pytest.mark.timeout(120)
def test_api_and_worker_ride_out_a_postgres_restart_and_no_forecast_is_half_written(
    api, pg, world, private_redis, redis_server, postgres_server, processes
):
    seed_history(pg, world.sensor_id, days=14)
    env = process_env(postgres_server, redis_server)
    worker = processes.worker("w1", env)
    wait_for(lambda: idle(private_redis, "w1"), 60, "the worker listens")
    url = f"/api/v1/sensors/{world.sensor_id}/data"
    window = {"start": (ORIGIN - pd.Timedelta(days=1)).isoformat(), "end": ORIGIN.isoformat()}
    before = api.client.get(url, params=window)
    assert before.status_code == 200
    new_day = day_of(ORIGIN)

    with sensor_held(pg, world.sensor_id):
        in_flight = create_forecasting_jobs(
            private_redis, job_settings(), [world.sensor_id], ORIGIN, [HORIZON]
        )
        wait_for(lambda: jobs_waiting_at_the_write(pg) == 1, 30, "the job is writing")
        postgres_server.stop()  # its transaction dies with its connection

    # The outage: every request answers (the client gives up after 30 s), cleanly.
    during = [api.client.get(url, params=window), api.client.post(url, json=new_day)]
    for response in during:
        assert response.status_code == 503, response.text
        assert response.json()["message"] == "The database is unavailable; try again shortly."
        assert response.headers["Retry-After"]
    health = api.client.get("/healthcheck")
    assert health.status_code == 503 and "database" in health.json()["failed"]

    postgres_server.start()
    assert set(forecast_rows(pg, world.sensor_id).values()) <= {ROWS_PER_FORECAST}
    # Neither the API nor the worker was restarted.
    after = api.client.get(url, params=window)
    assert after.status_code == 200 and after.json() == before.json()
    posted = api.client.post(url, json=new_day)
    assert posted.status_code == 200, posted.text
    assert posted.json()["created"] == 96  # the refused POST stored nothing
    new_origin = ORIGIN + pd.Timedelta(days=1)
    assert posted.json()["forecasting_jobs"] == [
        forecast_job_id(world.sensor_id, HORIZON, new_origin)
    ]
    job_ids = in_flight + posted.json()["forecasting_jobs"]
    wait_for(
        lambda: all(status(private_redis, j) == "finished" for j in job_ids),
        60,
        "the cut-off job is retried and the new one runs, on the same worker",
    )
    assert forecast_rows(pg, world.sensor_id) == {
        ORIGIN: ROWS_PER_FORECAST,
        new_origin: ROWS_PER_FORECAST,
    }
    each_finished_once(pg, job_ids)
    assert Queue("forecasting", connection=private_redis).count == 0
    assert worker.poll() is None and api.process.poll() is None
