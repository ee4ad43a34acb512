"""Jobs through the API and the console: status, error text, only for their owners."""

from datetime import UTC, datetime, timedelta

from bvp.data.models.job_runs import record_job_run
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.queues import get_queue
from tests.conftest import job_settings, run_worker

DAY = {
    "start": "2024-06-01T00:00:00+02:00",
    "duration": "P1D",
    "values": [1.0] * 96,
    "unit": "kW",
}


def test_a_posted_days_jobs_are_visible_to_their_account_only(as_, world, redis):
    sensor = world["north"]["sensor"]
    job_ids = (
        as_("user").post(f"/api/v1/sensors/{sensor}/data", json=DAY).get_json()["forecasting_jobs"]
    )
    job = as_("viewer").get(f"/api/v1/jobs/{job_ids[0]}").get_json()
    assert job["status"] == "queued" and job["queue"] == "forecasting"
    assert job["enqueued_at"].endswith("+00:00")
    assert as_("viewer", "south").get(f"/api/v1/jobs/{job_ids[0]}").status_code == 404
    assert as_("viewer").get("/api/v1/jobs/not-a-bvp-job").status_code == 404

    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")
    finished = as_("viewer").get(f"/api/v1/jobs/{job_ids[0]}").get_json()
    assert finished["status"] == "finished" and finished["result"]["model"] == "naive-1d"
    listed = as_("viewer").get(f"/api/v1/sensors/{sensor}/jobs").get_json()
    assert set(job_ids) <= {j["id"] for j in listed}
    assert as_("viewer", "south").get(f"/api/v1/sensors/{sensor}/jobs").status_code == 404


def test_a_failed_job_shows_its_error(as_, db, world, redis):
    sensor = world["north"]["sensor"]
    # A job asking for a model no release knows (a bug, say): it fails, and says why.
    origin = datetime(2024, 6, 1, tzinfo=UTC)
    [job_id] = create_forecasting_jobs(
        redis,
        job_settings(retries=0),
        [sensor],
        origin,
        [timedelta(hours=1)],
        model="no-such-model",
    )
    run_worker("-m", "flask", "run_forecasting_worker", "--queue", "forecasting", "--burst")
    job = as_("viewer").get(f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "failed"
    assert "no-such-model" in job["error"]


def test_console_lists_shows_requeues_and_clears(app, as_, world, redis):
    sensor = world["north"]["sensor"]
    as_("user").post(f"/api/v1/sensors/{sensor}/data", json=DAY)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list", "--queue", "forecasting"])
    assert "forecasting: 1 waiting" in listed.output  # PT1H, PT6H, P1D: one job
    job_id = listed.output.split("queued")[1].split()[0]
    shown = runner.invoke(args=["jobs", "show", job_id])
    assert "status: queued" in shown.output
    cleared = runner.invoke(args=["jobs", "clear", "--queue", "forecasting", "--yes"])
    assert "dropped 1 waiting job\n" in cleared.output
    assert "requeued 0 failed jobs" in runner.invoke(args=["jobs", "requeue-failed"]).output


def test_a_sensors_job_list_reads_recorded_runs_and_its_waiting_jobs(as_, db, world, redis):
    """Jobs Redis no longer keeps are listed as their last run was recorded; a retried
    job once, as its last attempt; jobs waiting in Redis too; no other sensor's job."""
    sensor, energy = world["north"]["sensor"], world["north"]["energy"]
    south = world["south"]["sensor"]
    ended = datetime(2024, 5, 1, tzinfo=UTC)
    for sensor_id, job_id, status, minutes, error in [
        (sensor, "select-model-s{}", "finished", 0, None),
        (sensor, "forecast-s{}-h86400-o20240501T000000Z", "retried", 10, "OSError: down"),
        (sensor, "forecast-s{}-h86400-o20240501T000000Z", "failed", 20, "OSError: still down"),
        (energy, "forecast-s{}-h86400-o20240501T000000Z", "finished", 30, None),
        (south, "forecast-s{}-h86400-o20240501T000000Z", "finished", 30, None),
    ]:
        at = ended + timedelta(minutes=minutes)
        record_job_run(
            db,
            job_id=job_id.format(sensor_id),
            queue="forecasting",
            status=status,
            sensor_id=sensor_id,
            enqueued_at=at - timedelta(seconds=30),
            started_at=at - timedelta(seconds=5),
            ended_at=at,
            error=error,
        )
    db.commit()
    waiting = as_("user").post(f"/api/v1/sensors/{sensor}/data", json=DAY).get_json()
    other_sensors = as_("user").post(f"/api/v1/sensors/{energy}/data", json=DAY).get_json()
    assert other_sensors["forecasting_jobs"]

    listed = as_("viewer").get(f"/api/v1/sensors/{sensor}/jobs").get_json()

    assert [(j["id"], j["status"]) for j in listed] == [
        (waiting["forecasting_jobs"][0], "queued"),
        (f"forecast-s{sensor}-h86400-o20240501T000000Z", "failed"),
        (f"select-model-s{sensor}", "finished"),
    ]
    assert listed[0]["description"].startswith(f"forecast sensor {sensor}")
    assert listed[1]["error"] == "OSError: still down"
    assert listed[1]["ended_at"] == "2024-05-01T00:20:00+00:00"
    assert as_("viewer", "south").get(f"/api/v1/sensors/{sensor}/jobs").status_code == 404


def test_a_job_waiting_for_its_retry_is_listed_whatever_its_origin(as_, world, redis):
    """Jobs of the sensor that wait to be retried (rq's scheduled registry) are listed
    even from origins its ids would not be guessed from; another sensor's are not."""
    sensor, energy = world["north"]["sensor"], world["north"]["energy"]
    queue = get_queue(redis, "forecasting")
    later = datetime.now(UTC) + timedelta(minutes=5)
    for sensor_id in (sensor, energy):
        queue.enqueue_at(
            later, "time.sleep", 0, job_id=f"forecast-s{sensor_id}-h3600-o20200101T000000Z"
        )

    listed = as_("viewer").get(f"/api/v1/sensors/{sensor}/jobs").get_json()

    assert [(j["id"], j["status"]) for j in listed] == [
        (f"forecast-s{sensor}-h3600-o20200101T000000Z", "scheduled")
    ]
