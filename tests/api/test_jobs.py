"""Jobs through the API and the console: status, error text, only for their owners."""

from datetime import UTC, datetime, timedelta

from bvp.forecasting.enqueue import create_forecasting_jobs
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
