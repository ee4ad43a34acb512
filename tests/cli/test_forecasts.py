"""flask forecasts backtest on stored data."""

import json

import numpy as np
import pandas as pd
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


def test_create_forecasts_here_or_as_jobs(app, db, sensor, redis):
    index = pd.date_range("2024-05-25T00:00Z", "2024-06-10T00:00Z", freq="15min", inclusive="left")
    save_beliefs(
        db,
        {"event_start": index, "event_value": np.arange(len(index)) % 96 * 1.0},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=pd.Timestamp("2024-06-10T00:00Z").to_pydatetime(),
    )
    db.commit()
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
