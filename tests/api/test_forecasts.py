"""The whole loop: an API POST enqueues jobs, a real worker runs them, the API reads forecasts."""

from rq.job import Job

from tests.conftest import run_worker


def test_posted_data_is_forecast_by_a_worker_and_readable_through_the_api(as_, world, redis):
    user = as_("user")
    sensor = world["north"]["sensor"]
    two_days = {
        "start": "2024-06-01T00:00:00+02:00",
        "duration": "P2D",
        "values": [float(i % 96) for i in range(192)],
        "unit": "kW",
        "prior": "2024-06-03T00:00:00+02:00",
    }
    posted = user.post(f"/api/v1/sensors/{sensor}/data", json=two_days).get_json()
    assert posted["created"] == 192
    # PT1H, PT6H and P1D ahead: one day-ahead job stores the events of all three
    assert posted["forecasting_jobs"] == [f"forecast-s{sensor}-h86400-o20240602T220000Z"]

    run_worker()
    for job_id in posted["forecasting_jobs"]:
        assert Job.fetch(job_id, connection=redis).get_status() == "finished"

    forecasts = user.get(
        f"/api/v1/sensors/{sensor}/forecasts",
        query_string={"start": "2024-06-03T00:00:00+02:00", "end": "2024-06-04T00:00:00+02:00"},
    ).get_json()
    assert forecasts["values"] == [float(i) for i in range(96)]  # yesterday's profile
    measured = user.get(
        f"/api/v1/sensors/{sensor}/data",
        query_string={"start": "2024-06-03T00:00:00+02:00", "end": "2024-06-04T00:00:00+02:00"},
    ).get_json()
    assert measured["values"] == [None] * 96  # forecasts are not measurements


def test_data_posted_without_a_belief_time_informs_its_own_forecast(as_, world, redis):
    """Posted now about the past: the job still sees it (forecasts are made from it)."""
    user = as_("user")
    sensor = world["north"]["sensor"]
    posted = user.post(
        f"/api/v1/sensors/{sensor}/data",
        json={
            "start": "2024-06-01T00:00:00+02:00",
            "duration": "P2D",
            "values": [float(i % 96) for i in range(192)],
            "unit": "kW",
        },
    ).get_json()
    assert posted["forecasting_jobs"]
    run_worker()
    forecasts = user.get(
        f"/api/v1/sensors/{sensor}/forecasts",
        query_string={"start": "2024-06-03T00:00:00+02:00", "end": "2024-06-04T00:00:00+02:00"},
    ).get_json()
    assert forecasts["values"] == [float(i) for i in range(96)]


def test_forecasts_come_with_belief_times_horizons_and_quantiles(as_, db, world):
    import numpy as np
    import pandas as pd

    from bvp.data.beliefs import save_beliefs
    from bvp.data.models.data_sources import get_or_create_source

    sensor = world["north"]["sensor"]
    source = get_or_create_source(db, "BVP", "forecaster", model="gbm", version="1").id
    origin = pd.Timestamp("2024-06-03T00:00Z")
    events = pd.date_range(origin, periods=4, freq="15min")
    for probability, value in ((0.1, 1.0), (0.5, 2.0), (0.9, 3.0)):
        save_beliefs(
            db,
            {"event_start": events, "event_value": np.full(4, value)},
            sensor_id=sensor,
            source_id=source,
            belief_time=origin.to_pydatetime(),
            cumulative_probability=probability,
        )
    db.commit()
    body = (
        as_("viewer")
        .get(
            f"/api/v1/sensors/{sensor}/forecasts",
            query_string={"start": "2024-06-03T00:00:00Z", "end": "2024-06-03T01:00:00Z"},
        )
        .get_json()
    )
    assert body["values"] == [2.0] * 4
    assert body["quantiles"] == {"0.1": [1.0] * 4, "0.9": [3.0] * 4}
    assert body["belief_times"] == ["2024-06-03T00:00:00+00:00"] * 4
    assert body["horizons"] == ["PT15M", "PT30M", "PT45M", "PT1H"]
