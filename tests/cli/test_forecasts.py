"""flask forecasts backtest and select on stored data."""

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from bvp.data.beliefs import save_beliefs


def test_backtest_prints_scores_per_model(app, db, sensor):
    index = pd.date_range("2024-05-01T00:00Z", "2024-06-10T00:00Z", freq="15min", inclusive="left")
    values = np.sin(np.pi * np.clip(index.hour.to_numpy() - 6, 0, 12) / 12) * 5
    save_beliefs(
        db,
        {"event_start": index, "event_value": values},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=pd.Timestamp("2024-06-10T00:00Z").to_pydatetime(),
    )
    db.commit()
    args = [
        "forecasts",
        "backtest",
        "--sensor",
        str(sensor.id),
        "--from",
        "2024-06-06T00:00+02:00",
        "--until",
        "2024-06-09T00:00+02:00",
        "--models",
        "naive-1d,ridge",
    ]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "3 origins (local midnights)" in result.output
    assert "naive-1d" in result.output and "ridge" in result.output
    assert all(h in result.output for h in ("PT1H", "PT6H", "P1D"))  # scored per horizon
    as_json = json.loads(app.test_cli_runner().invoke(args=[*args, "--json"]).output)
    naive_mae = [
        row["mae"] for row in as_json if row["model"] == "naive-1d" and row["horizon"] == "P1D"
    ]
    assert naive_mae == [0.0, 0.0, 0.0]  # a repeating day is forecast exactly


def test_backtest_names_unknown_models(app, db, sensor):
    result = app.test_cli_runner().invoke(
        args=[
            "forecasts",
            "backtest",
            "--sensor",
            str(sensor.id),
            "--from",
            "2024-06-06T00:00Z",
            "--until",
            "2024-06-09T00:00Z",
            "--models",
            "prophet",
        ]
    )
    assert result.exit_code == 2 and "unknown prophet" in result.output


def _daily_profile_until_june_10(db, sensor, since: str) -> None:
    """Quarter-hours 0, 1, ... 95 each day from ``since`` to 2024-06-10, measured then."""
    index = pd.date_range(since, "2024-06-10T00:00Z", freq="15min", inclusive="left")
    save_beliefs(
        db,
        {"event_start": index, "event_value": np.arange(len(index)) % 96 * 1.0},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=pd.Timestamp("2024-06-10T00:00Z").to_pydatetime(),
    )
    db.commit()


def test_create_forecasts_here_or_as_jobs(app, db, sensor, redis):
    _daily_profile_until_june_10(db, sensor, "2024-05-25T00:00Z")
    window = [
        "--sensor",
        str(sensor.id),
        "--from",
        "2024-06-07T00:00Z",
        "--until",
        "2024-06-09T00:00Z",
    ]
    here = app.test_cli_runner().invoke(args=["forecasts", "create", *window])
    assert here.exit_code == 0, here.output
    assert "192 forecasts created from 2 origins" in here.output
    queued = app.test_cli_runner().invoke(args=["forecasts", "create", *window, "--as-job"])
    assert "queued 2 forecasting jobs" in queued.output
    ridge = app.test_cli_runner().invoke(args=["forecasts", "create", *window, "--model", "ridge"])
    assert "192 forecasts created" in ridge.output, ridge.output
    sources = db.execute(text("SELECT model FROM data_source WHERE type = 'forecaster'"))
    assert {"naive-1d", "ridge"} == {row[0] for row in sources}


def test_select_chooses_and_says_what_and_why(app, db, sensor):
    from bvp.data.models import ModelSelection
    from bvp.forecasting.models import MODELS

    index = pd.date_range("2024-04-01T00:00Z", "2024-06-10T00:00Z", freq="15min", inclusive="left")
    profile = np.sin(np.pi * np.clip(index.hour.to_numpy() - 6, 0, 12) / 12) * 5
    noise = np.random.default_rng(3).normal(0, 0.3, len(index))
    save_beliefs(
        db,
        {"event_start": index, "event_value": profile + noise},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=pd.Timestamp("2024-06-10T00:00Z").to_pydatetime(),
    )
    db.commit()
    result = app.test_cli_runner().invoke(args=["forecasts", "select", "--sensor", str(sensor.id)])
    assert result.exit_code == 0, result.output
    db.expire_all()
    selection = db.get(ModelSelection, sensor.id)
    assert f"sensor {sensor.id}: {selection.model}" in result.output
    assert "p10-p90 coverage" in result.output
    # every model was tried; the multiplicative one forecasts positive series only, and
    # this one is zero at night
    assert set(selection.scores) - {"ensemble"} == set(MODELS) - {"mstl-ets-log"}
    # With white noise around a repeating day, the best possible forecast (the day itself)
    # has 1/sqrt(2) of the day-ago naive's error: MASE 0.707.
    assert selection.mase < 0.75


def test_select_names_a_sensor_that_does_not_exist(app, db):
    result = app.test_cli_runner().invoke(args=["forecasts", "select", "--sensor", "999999"])
    assert result.exit_code != 0 and "sensor 999999 does not exist" in result.output


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--from", "2016-10-01", "has no UTC offset"),
        ("--from", "2016-10-01Z", "is not an ISO 8601 datetime"),
        ("--until", "soon", "is not an ISO 8601 datetime"),
        ("--horizon", "one day", "not an ISO 8601 duration"),
    ],
)
def test_create_names_a_bad_option_in_one_line(app, db, sensor, option, value, said):
    args = {"--from": "2016-10-01T00:00Z", "--until": "2016-10-02T00:00Z", "--horizon": "P1D"}
    args[option] = value
    command = ["forecasts", "create", "--sensor", str(sensor.id)]
    result = app.test_cli_runner().invoke(args=command + [x for kv in args.items() for x in kv])
    assert result.exit_code == 2  # a usage error, not a crash
    assert f"Invalid value for '{option}'" in result.output and said in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_wait_follows_the_jobs_the_latest_data_queued(app, db, sensor, redis):
    """The configured PT1H, PT6H and P1D are one day-ahead job per sensor: `wait` follows
    that job, and does not report the shorter horizons as never queued."""
    from bvp.config import app_settings
    from bvp.forecasting.enqueue import enqueue_forecasts
    from bvp.forecasting.pipeline import latest_origin
    from tests.conftest import run_worker

    _daily_profile_until_june_10(db, sensor, "2024-06-01T00:00Z")
    settings = app_settings(app).jobs
    assert len(settings.horizons) == 3
    assert enqueue_forecasts(settings, {sensor.id: latest_origin(db, sensor.id)}) == [
        f"forecast-s{sensor.id}-h86400-o20240610T000000Z"
    ]
    waiting = app.test_cli_runner().invoke(args=["forecasts", "wait", "--timeout", "0"])
    assert "1 queued" in waiting.output and waiting.exit_code != 0

    run_worker()

    done = app.test_cli_runner().invoke(args=["forecasts", "wait", "--timeout", "5"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().splitlines()[-1] == "1 finished"
