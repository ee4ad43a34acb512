"""POST and GET /api/v1/sensors/<id>/data: units, resolutions, errors, idempotence, isolation."""

import json
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from bvp.data.models import TimedBelief

DAY = "2024-06-01T00:00:00+02:00"  # local midnight in Amsterdam = 2024-05-31T22:00Z


def body(**overrides):
    return {"start": DAY, "duration": "P1D", "values": list(range(96)), "unit": "kW", **overrides}


def stored(db) -> int:
    return db.scalar(select(func.count()).select_from(TimedBelief))


def url(world, account="north", sensor="sensor"):
    return f"/api/v1/sensors/{world[account][sensor]}/data"


def read(caller, world, start=DAY, end="2024-06-02T00:00:00+02:00", **query):
    params = {"start": start, "end": end, **query}
    return caller.get(url(world), query_string=params)


def test_post_then_get_round_trips_a_day(as_, world, redis):
    user = as_("user")
    response = user.post(url(world), json=body())
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert (result["created"], result["updated"], result["unchanged"]) == (96, 0, 0)
    got = read(user, world).get_json()
    assert got["values"] == [float(v) for v in range(96)]
    assert got["start"] == "2024-05-31T22:00:00+00:00"
    assert got["unit"] == "kW" and got["resolution"] == "PT15M"


def test_reposting_the_same_body_changes_nothing_and_queues_nothing(as_, world, db, redis):
    user = as_("user")
    first = user.post(url(world), json=body()).get_json()
    assert first["forecasting_jobs"]  # new data: forecasts are due
    again = user.post(url(world), json=body()).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 96)
    assert again["forecasting_jobs"] == []
    assert stored(db) == 96


def test_nulls_are_skipped(as_, world, db, redis):
    values = [1.0] * 96
    values[5] = None
    result = as_("user").post(url(world), json=body(values=values)).get_json()
    assert (result["created"], result["skipped_nulls"]) == (95, 1)
    got = read(as_("viewer"), world).get_json()
    assert got["values"][5] is None and got["values"][6] == 1.0


def test_watts_are_converted_to_the_sensors_kilowatts(as_, world, redis):
    as_("user").post(url(world), json=body(values=[2500.0] * 96, unit="W"))
    assert read(as_("user"), world).get_json()["values"] == [2.5] * 96
    in_mw = read(as_("user"), world, unit="MW").get_json()
    assert in_mw["values"] == [0.0025] * 96 and in_mw["unit"] == "MW"


def test_kwh_posted_to_a_kw_sensor_is_converted_with_the_resolution(as_, world, redis):
    # 1 kWh in a quarter-hour is an average of 4 kW.
    as_("user").post(url(world), json=body(values=[1.0] * 96, unit="kWh"))
    assert read(as_("user"), world).get_json()["values"] == [4.0] * 96


def test_hourly_power_is_repeated_and_hourly_energy_is_split(as_, world, redis):
    hourly = body(values=[float(h) for h in range(24)], resolution="PT1H")
    del hourly["duration"]
    as_("user").post(url(world), json=hourly)
    power = read(as_("user"), world).get_json()["values"]
    assert power[:8] == [0.0] * 4 + [1.0] * 4
    as_("user").post(url(world, sensor="energy"), json={**hourly, "unit": "kWh"})
    energy = as_("user").get(
        url(world, sensor="energy"),
        query_string={"start": DAY, "end": "2024-06-02T00:00:00+02:00"},
    )
    assert energy.get_json()["values"][4:8] == [0.25] * 4


def test_reading_coarser_averages_power(as_, world, redis):
    as_("user").post(url(world), json=body())
    hourly = read(as_("user"), world, resolution="PT1H").get_json()
    assert len(hourly["values"]) == 24 and hourly["values"][0] == 1.5  # mean of 0, 1, 2, 3


def test_as_of_shows_what_was_known(as_, world, redis):
    user = as_("user")
    user.post(url(world), json=body(values=[1.0] * 96, prior="2024-06-02T00:00:00Z"))
    user.post(url(world), json=body(values=[2.0] * 96, prior="2024-06-03T00:00:00Z"))
    assert read(user, world).get_json()["values"] == [2.0] * 96
    earlier = read(user, world, as_of="2024-06-02T12:00:00Z").get_json()
    assert earlier["values"] == [1.0] * 96


def test_csv_export(as_, world, redis):
    as_("user").post(url(world), json=body())
    response = read(as_("viewer"), world, format="csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "event_start,value [kW]"
    assert lines[1] == "2024-05-31T22:00:00+00:00,0.0" and len(lines) == 97


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"start": "2024-06-01T00:00:00"}, "start", "Not a valid aware datetime."),
        ({"start": "tomorrow"}, "start", "Not a valid datetime."),
        ({"values": [1, "2", 3]}, "values[1]", "Not a valid number."),
        ({"values": [1, True, 3]}, "values[1]", "Not a valid number."),
        ({"values": []}, "values", "Shorter than minimum length 1."),
        ({"unit": "°C"}, "unit", "'°C' cannot be converted to the sensor's unit 'kW'"),
        ({"duration": "P1D", "values": [1.0] * 95}, "duration", "does not split evenly"),
        ({"duration": "PT25M", "values": [1.0]}, "resolution", "cannot be split into"),
        ({"start": "2024-06-01T00:07:00+02:00"}, "start", "is not on the sensor's"),
        ({"resolution": "PT15M"}, "duration", "Give either duration or resolution."),
        ({"prior": "2024-06-01 12:00"}, "prior", "Not a valid aware datetime."),
    ],
)
def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(
    as_, world, db, redis, overrides, field, reason
):
    response = as_("user").post(url(world), json=body(**overrides))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert any(reason in r for r in errors[field]), errors
    assert stored(db) == 0


def test_nan_and_infinity_are_refused(as_, world, db, redis):
    raw = json.dumps(body()).replace("[0, 1, 2", "[0, NaN, 2")
    response = as_("user").post(url(world), data=raw, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert stored(db) == 0


def test_malformed_json_is_400(as_, world, db):
    response = as_("user").post(url(world), data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["status"] == 400


def test_a_body_over_the_limit_is_413(app, as_, world, db):
    app.config["MAX_CONTENT_LENGTH"] = 200  # the body is about 460 bytes
    try:
        response = as_("user").post(url(world), json=body())
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    assert stored(db) == 0


def test_viewers_read_but_do_not_write(as_, world, db):
    response = as_("viewer").post(url(world), json=body())
    assert response.status_code == 403
    assert stored(db) == 0


def test_no_one_reads_or_writes_another_accounts_data(as_, world, db, redis):
    as_("user", "south").post(url(world, "south"), json=body())
    for role in ("account-admin", "user", "viewer"):
        caller = as_(role, "north")
        assert caller.post(url(world, "south"), json=body(values=[9] * 96)).status_code == 404
        got = caller.get(
            url(world, "south"), query_string={"start": DAY, "end": "2024-06-02T00:00:00+02:00"}
        )
        assert got.status_code == 404
        forecasts = caller.get(
            url(world, "south").replace("/data", "/forecasts"),
            query_string={"start": DAY, "end": "2024-06-02T00:00:00+02:00"},
        )
        assert forecasts.status_code == 404
    assert stored(db) == 96
    admin = as_("admin", "north")
    assert read(admin, {"north": world["south"]}, start=DAY).status_code == 200


def test_redis_down_data_stored_and_forecasts_owed_until_redis_is_back(
    app, as_, world, db, redis, monkeypatch
):
    from bvp.data.models import ForecastOutbox
    from bvp.forecasting.job_ids import forecast_job_id
    from tests.conftest import change_settings, run_worker

    with monkeypatch.context() as patched:
        change_settings(patched, app, REDIS_URL="redis://127.0.0.1:1/0")  # no one listens
        result = as_("user").post(url(world), json=body()).get_json()
    assert result["created"] == 96 and result["jobs_pending"] is True
    assert stored(db) == 96
    owed = [(o.sensor_id, o.origin) for o in db.query(ForecastOutbox)]
    assert [(s, o.isoformat()) for s, o in owed] == [
        (world["north"]["sensor"], "2024-06-01T22:00:00+00:00")
    ]
    db.rollback()
    # Redis is back: the next worker queues what is owed (and runs it), nothing is lost.
    run_worker()
    assert db.query(ForecastOutbox).count() == 0
    job_id = forecast_job_id(world["north"]["sensor"], timedelta(days=1), owed[0][1])
    assert redis.exists(f"rq:job:{job_id}")


def test_enqueue_pending_command_queues_owed_forecasts(app, db, world, redis):
    from bvp.data.models.forecast_outbox import record_owed_forecasts

    record_owed_forecasts(db, {world["north"]["sensor"]: pd.Timestamp("2024-06-02T00:00Z")})
    db.commit()
    result = app.test_cli_runner().invoke(args=["forecasts", "enqueue-pending"])
    assert "queued 1 owed forecasting job: " in result.output, result.output  # P1D covers all
    again = app.test_cli_runner().invoke(args=["forecasts", "enqueue-pending"])
    assert "queued 0 owed forecasting jobs" in again.output


def test_a_corrected_value_becomes_a_new_belief_and_the_old_one_is_kept(as_, world, db, redis):
    user = as_("user")
    user.post(url(world), json=body(values=[1.0] * 96))
    corrected = [1.0] * 96
    corrected[10] = 7.0
    result = user.post(url(world), json=body(values=corrected)).get_json()
    assert (result["created"], result["unchanged"]) == (1, 95)
    assert read(user, world).get_json()["values"][10] == 7.0
    assert stored(db) == 97  # what was believed before is still there (as_of can see it)


def test_a_window_too_long_to_serve_is_422_not_a_crash(as_, world):
    response = read(as_("viewer"), world, start="1950-01-01T00:00:00Z", end="2200-01-01T00:00:00Z")
    assert response.status_code == 422
    assert "end" in response.get_json()["errors"]
    finer = read(as_("viewer"), world, resolution="PT1S", end="2030-06-02T00:00:00+02:00")
    assert finer.status_code == 422


def test_a_long_source_label_is_stored(as_, world, db, redis):
    response = as_("user").post(url(world), json=body(source="x" * 60))
    assert response.status_code == 200
    too_long = as_("user").post(url(world), json=body(source="x" * 61))
    assert too_long.status_code == 422 and "source" in too_long.get_json()["errors"]


@pytest.mark.parametrize(
    "query",
    [
        {"start": "0051-08-04T08:45:00Z", "end": "0715-02-27T18:00:00Z"},  # found by fuzzing
        {"start": "2024-06-01T00:00:00Z", "end": "9522-03-15T11:15:00Z"},
        {"as_of": "0001-01-01T00:00:00+05:00"},  # no UTC equivalent at all
    ],
)
def test_datetimes_pandas_cannot_hold_are_422_not_a_crash(as_, world, db, redis, query):
    """Years outside 1677-2262 were a 500 (pandas' OutOfBoundsDatetime) on reads and posts."""
    field = next(iter(reversed(query)))
    response = read(as_("viewer"), world, **query)
    assert response.status_code == 422
    assert "1900-01-01" in response.get_json()["errors"][field][0]
    posted = as_("user").post(url(world), json=body(start="2999-01-01T00:00:00Z"))
    assert posted.status_code == 422 and "start" in posted.get_json()["errors"]
    assert stored(db) == 0


@pytest.mark.parametrize("duration", ["P1M", "PT1.5H", "P0.5D", "P1Y", "pt1h", "P1DT"])
def test_durations_pandas_would_misread_are_refused(as_, world, db, redis, duration):
    """pandas reads P1M as a minute, P0.5D as five days, PT1.5H as 5 h 0 min 1 s."""
    response = as_("user").post(url(world), json=body(duration=duration))
    assert response.status_code == 422 and "duration" in response.get_json()["errors"]
    assert stored(db) == 0


def test_a_body_that_is_not_utf8_is_400_not_taken_as_no_body(as_, world, db):
    """Found by fuzzing: bytes orjson cannot decode were read as a missing body, so POST
    /api/v1/clients made a client and a forecast trigger ran with its defaults."""
    user = as_("user")
    garbage = b"\xff\xfe\x7f\x1ao."
    for route in (url(world), "/api/v1/clients"):
        response = user.post(route, data=garbage, content_type="application/json")
        assert response.status_code == 400, route
        assert "_body" in response.get_json()["errors"]
    assert user.get("/api/v1/clients").get_json() == []
    assert stored(db) == 0


def test_a_post_queues_its_jobs_with_the_settings_create_app_built(app, as_, world, redis):
    """Settings are typed and checked once, at start; a POST reads them (here: another
    app of the same database, with BVP_FORECAST_HORIZONS=PT6H and one retry)."""
    from bvp.app import create_app
    from bvp.config import app_settings
    from bvp.forecasting.job_status import job_status

    six_hours = create_app("testing", overrides={"FORECAST_HORIZONS": "PT6H", "JOB_RETRIES": 1})
    assert app_settings(six_hours).jobs.horizons == (timedelta(hours=6),)
    caller = as_("user")
    posted = six_hours.test_client().post(
        url(world), json=body(), headers={"Authorization": f"Bearer {caller.token}"}
    )
    assert posted.status_code == 200, posted.get_json()
    [job_id] = posted.get_json()["forecasting_jobs"]
    assert job_id == f"forecast-s{world['north']['sensor']}-h21600-o20240601T220000Z"
    assert job_status(redis, job_id).retries_left == 1
