"""The model store: a fitted model is stored once and reused, and forecasts from the
stored model equal those of the fit it came from."""

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from rq.job import Job
from sqlalchemy import func, select

from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.models import TrainedModel
from bvp.data.models.model_selection import store_selection
from bvp.data.models.trained_models import decode_state, encode_state, model_state, stored_model
from bvp.data.utc import utcnow
from bvp.forecasting.enqueue import create_forecasting_jobs
from bvp.forecasting.job_ids import training_job_id
from bvp.forecasting.models import model_named
from bvp.forecasting.pipeline import make_forecast, model_inputs
from tests.conftest import job_settings, run_worker
from tests.forecasting.test_features_and_models import CONTEXT, ORIGIN, RESOLUTION, daily_profile

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("name", "members"),
    [("lightgbm", []), ("ensemble", ["lightgbm", "naive-1d"]), ("ridge", [])],
)
def test_a_stored_model_forecasts_exactly_as_the_fit_it_came_from(name, members):
    history = daily_profile(days=60, noise=0.3)
    model = model_named(name, members)
    fitted = model.fit(history, ORIGIN - 2 * DAY, RESOLUTION, pd.Timedelta(days=1), **CONTEXT)
    # what the store keeps: JSON, compressed, and back
    restored = model.restore(decode_state(encode_state(fitted.state())), RESOLUTION)
    for origin in (ORIGIN - 2 * DAY, ORIGIN):  # at its fit, and two days on
        events = pd.date_range(origin, periods=96, freq=RESOLUTION)
        expected = fitted(history, origin, events, **CONTEXT)
        assert expected[0.5].notna().all()
        pd.testing.assert_frame_equal(restored(history, origin, events, **CONTEXT), expected)
    json.dumps(fitted.state())  # JSON through and through: no pickle, no code on load


def _measured(db, sensor, days=40, until="2024-06-10T00:00Z"):
    end = pd.Timestamp(until)
    index = pd.date_range(end - pd.Timedelta(days=days), end, freq="15min", inclusive="left")
    values = daily_profile(days=days + 5, noise=0.2).to_numpy()[: len(index)] + 1
    save_beliefs(
        db,
        {"event_start": index, "event_value": values},
        sensor_id=sensor.id,
        source_id=1,
        belief_time=pd.Timestamp(until).to_pydatetime(),
    )
    store_selection(db, sensor.id, "lightgbm", 0.5, {}, utcnow(), {"coverage": 0.8})
    db.commit()
    return pd.Timestamp(until)


def _forecast(db, sensor, origin):
    make_forecast(db, sensor.id, origin, DAY)
    db.commit()
    frame = latest_beliefs(db, sensor.id, origin, origin + DAY, source=_forecasters(db))
    return frame["event_value"]


def _forecasters(db):
    from bvp.data.models.data_sources import forecaster_source_ids

    return forecaster_source_ids(db)


def test_forecasts_reuse_the_stored_model_for_a_week_and_then_refit(db, sensor):
    end = _measured(db, sensor)
    first_origin = end - 3 * DAY
    _forecast(db, sensor, first_origin)
    stored = stored_model(db, sensor.id, DAY)
    assert stored.model == "lightgbm" and stored.trained_until == first_origin
    assert stored.data_until == end  # the newest belief it was trained on
    assert stored.scores == {"mase": 0.5, "coverage": 0.8}
    assert "y_lag_1d" in stored.features["lightgbm"]
    trained_at = stored.trained_at

    # two days on, the same fit forecasts: nothing is trained again, and reading only the
    # weeks of history it needs gives the forecast a year of history would
    later = end - DAY
    forecast = _forecast(db, sensor, later)
    db.expire_all()
    assert stored_model(db, sensor.id, DAY).trained_at == trained_at
    history, context = model_inputs(db, sensor, later - pd.Timedelta(days=380), later)
    fitted = model_named("lightgbm").restore(model_state(db, stored.id), RESOLUTION)
    events = pd.date_range(later, periods=96, freq=RESOLUTION)
    expected = fitted(history, later, events, **context)[0.5].clip(lower=0)
    np.testing.assert_allclose(forecast.to_numpy(), expected.to_numpy())

    # the hour-ahead forecast reads the same lags: the day-ahead fit serves it
    make_forecast(db, sensor.id, later, timedelta(hours=1))
    db.commit()
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(TrainedModel)) == 1
    assert stored_model(db, sensor.id, DAY).trained_at == trained_at

    # a forecast from before the fit cannot use it (it was trained on later data) and
    # does not replace it
    _forecast(db, sensor, first_origin - 2 * DAY)
    db.expire_all()
    assert stored_model(db, sensor.id, DAY).trained_until == first_origin

    # a week after the fit, or for another chosen model, it is fitted again
    store_selection(
        db, sensor.id, "ensemble", 0.4, {}, utcnow(), {"members": ["lightgbm", "naive-1d"]}
    )
    _forecast(db, sensor, end - DAY)
    db.expire_all()
    again = stored_model(db, sensor.id, DAY)
    assert (again.model, again.members, again.trained_until) == (
        "ensemble",
        ["lightgbm", "naive-1d"],
        end - DAY,
    )
    assert db.scalar(select(func.count()).select_from(TrainedModel)) == 1


def test_a_day_old_model_is_retrained_in_the_background_by_a_worker(app, db, sensor, redis):
    end = _measured(db, sensor)
    _forecast(db, sensor, end - 2 * DAY)  # stored, two days old at the next origin
    create_forecasting_jobs(redis, job_settings(), [sensor.id], end.to_pydatetime(), [DAY])

    run_worker()

    db.expire_all()
    assert Job.fetch(training_job_id(sensor.id, DAY), connection=redis).is_finished
    retrained = stored_model(db, sensor.id, DAY)
    assert retrained.trained_until == end  # trained at the newest origin
    forecast = latest_beliefs(db, sensor.id, end, end + DAY, source=_forecasters(db))
    assert len(forecast) == 96 and forecast["event_value"].notna().all()


@pytest.mark.parametrize("model", [None, "lightgbm", "ridge", "naive-1d", "mstl-ets"])
def test_the_day_ahead_job_stores_what_the_hour_ahead_one_would(db, sensor, model):
    """Why one job serves PT1H, PT6H and P1D: at the same origin, the hour-ahead forecast
    is the first hour of the day-ahead one, value for value, band included (the
    sensor's chosen model, None, stores its calibrated p10 and p90 too)."""
    end = _measured(db, sensor)
    band = {"0.1": [-1.0] * 24, "0.9": [1.5] * 24}  # in units of the recent spread
    calibration = {"members": [], "offsets": band, "coverage": 0.8}
    store_selection(db, sensor.id, "lightgbm", 0.5, {}, utcnow(), calibration)
    hour_ahead = make_forecast(db, sensor.id, end, timedelta(hours=1), model=model)
    db.commit()
    day_ahead = make_forecast(db, sensor.id, end, DAY, model=model)
    db.commit()
    quantiles = 3 if model is None else 1  # p10, p50, p90: calibrated on a backtest
    assert hour_ahead.created == 4 * quantiles
    assert (day_ahead.created, day_ahead.updated, day_ahead.unchanged) == (
        92 * quantiles,
        0,
        4 * quantiles,
    )


def test_a_fit_with_too_little_history_is_not_stored(app, db, sensor):
    _measured(db, sensor, days=1)  # LightGBM needs two days
    trained = app.test_cli_runner().invoke(args=["forecasts", "train", "--horizon", "PT6H"])
    assert "nothing to store (too little history to learn from)" in trained.output
    assert db.scalar(select(func.count()).select_from(TrainedModel)) == 0
    # the default model forecasts meanwhile
    forecast = _forecast(db, sensor, pd.Timestamp("2024-06-10T00:00Z"))
    assert len(forecast) == 96 and forecast.notna().all()


def test_operators_see_and_make_stored_models(app, db, sensor):
    _measured(db, sensor)
    runner = app.test_cli_runner()
    trained = runner.invoke(
        args=["forecasts", "train", "--sensor", str(sensor.id), "--horizon", "P1D"]
    )
    assert trained.exit_code == 0, trained.output
    assert (
        f"sensor {sensor.id} P1D: lightgbm, trained until 2024-06-10T00:00:00+00:00"
        in trained.output
    )
    listed = runner.invoke(args=["forecasts", "models"])
    assert "stored P1D: lightgbm v2, trained" in listed.output
    assert "on events 2023-06-" in listed.output or "on events 2024-05-" in listed.output
    bad = runner.invoke(args=["forecasts", "train", "--horizon", "soon"])
    assert bad.exit_code == 2 and "--horizon" in bad.output
