"""Features in local time across DST, lags known at the origin, learned models that never
look past their origin, and backtest scores that mean what they say."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from bvp.forecasting.backtest import backtest
from bvp.forecasting.features import calendar_features, known_lags, seasonal_lags
from bvp.forecasting.models import MODELS, learned

RESOLUTION = pd.Timedelta(minutes=15)
ORIGIN = pd.Timestamp("2024-06-29T22:00Z")  # local midnight in Amsterdam


def daily_profile(days=60, noise=0.0, seed=1):
    index = pd.date_range(
        ORIGIN - pd.Timedelta(days=days),
        ORIGIN + pd.Timedelta(days=3),
        freq=RESOLUTION,
        inclusive="left",
    )
    hours = (index.hour + index.minute / 60).to_numpy()
    values = np.sin(np.pi * np.clip(hours - 6, 0, 12) / 12) * 5
    values += np.random.default_rng(seed).normal(0, noise, len(values))
    return pd.Series(values, index=index)


def test_calendar_is_local_across_dst():
    events = pd.DatetimeIndex(["2024-03-30T07:00Z", "2024-04-01T06:00Z"])  # 08:00 local both
    features = calendar_features(events, "Europe/Amsterdam", "NL")
    assert (features["hour_8"] == 1).all()
    christmas = calendar_features(pd.DatetimeIndex(["2024-12-25T11:00Z"]), "Europe/Amsterdam", "NL")
    assert christmas["holiday"].iloc[0] == 1.0


@pytest.mark.parametrize(
    ("horizon", "lags"),
    [(timedelta(hours=6), [1, 7]), (timedelta(days=1), [1, 7]), (timedelta(hours=36), [2, 7])],
)
def test_only_lags_known_at_the_origin(horizon, lags):
    assert seasonal_lags(horizon) == [pd.Timedelta(days=d) for d in lags]


@pytest.mark.parametrize(
    ("horizon", "days"),
    [(timedelta(hours=6), [1, 2, 3, 7, 14]), (timedelta(hours=36), [2, 3, 4, 7, 14])],
)
def test_the_boosted_model_reads_only_lags_known_at_the_origin(horizon, days):
    assert known_lags(horizon) == days


CONTEXT = {"timezone": "Europe/Amsterdam", "country": "NL", "latitude": 52.4, "longitude": 4.9}


@pytest.mark.parametrize("name", list(MODELS))
def test_no_model_sees_data_after_its_origin(name):
    """Fitted at one origin and forecasting from a later one, as backtests do: what came
    after either never changes the forecast."""
    history = daily_profile(noise=0.3) + 10  # positive: the multiplicative model needs it
    fitted_at, origin = ORIGIN - pd.Timedelta(days=2), ORIGIN
    events = pd.date_range(origin, periods=96, freq=RESOLUTION)
    model = MODELS[name]

    def forecast(history):
        fitted = model.fit(history, fitted_at, RESOLUTION, pd.Timedelta(days=1), **CONTEXT)
        return fitted(history, origin, events, **CONTEXT)

    honest = forecast(history[history.index < origin])
    leaked_history = history.copy()
    leaked_history[leaked_history.index >= origin] = 1e6  # the "future" holds a tell-tale
    leaked = forecast(leaked_history)
    pd.testing.assert_frame_equal(honest, leaked)
    assert honest[0.5].notna().all() and (leaked.abs() < 1e3).all().all()


def test_backtest_scores_a_perfect_daily_pattern():
    history = daily_profile(noise=0.0)
    origins = [ORIGIN - pd.Timedelta(days=d) for d in (3, 2, 1)]
    result = backtest(
        history, origins, pd.Timedelta(days=1), RESOLUTION, ["naive-1d", "ridge", "lightgbm"]
    )
    table = result.summary()
    assert table.loc["naive-1d", "mae"] == 0.0
    assert table.loc["ridge", "mae"] < 0.05  # a linear model learns the daily profile
    assert table.loc["lightgbm", "mae"] < 0.1  # and so do trees
    assert (table["points"] == 3 * 96).all()


def test_a_regressor_informs_the_learned_model():
    """y follows x a day later; with x as a regressor, ridge forecasts y far better."""
    index = pd.date_range(
        ORIGIN - pd.Timedelta(days=60),
        ORIGIN + pd.Timedelta(days=1),
        freq=RESOLUTION,
        inclusive="left",
    )
    rng = np.random.default_rng(5)
    x = pd.Series(rng.normal(0, 1, len(index)), index=index)
    y = pd.Series(2 * x.reindex(index - pd.Timedelta(days=1)).fillna(0).to_numpy(), index=index)
    events = pd.date_range(ORIGIN, periods=96, freq=RESOLUTION)
    actual = y.reindex(events).to_numpy()
    without = learned.ridge(y, ORIGIN, events, RESOLUTION)
    with_x = learned.ridge(y, ORIGIN, events, RESOLUTION, regressors={"x": x})
    mae = lambda forecast: np.mean(np.abs(forecast[0.5].to_numpy() - actual))  # noqa: E731
    assert mae(with_x) < 0.1 < mae(without)


def test_a_future_regressor_is_read_as_known_at_the_origin():
    """y is twice x at the same time, and x's values for tomorrow are forecasts: the one
    issued before the origin informs the forecast; one issued after it never does."""
    index = pd.date_range(
        ORIGIN - pd.Timedelta(days=60),
        ORIGIN + pd.Timedelta(days=1),
        freq=RESOLUTION,
        inclusive="left",
    )
    x = np.random.default_rng(7).normal(0, 1, len(index))
    y = pd.Series(2 * x, index=index)
    tomorrow = index >= ORIGIN
    measured = pd.DataFrame(
        {"event_value": x[~tomorrow], "belief_time": index[~tomorrow] + RESOLUTION},
        index=index[~tomorrow],
    )
    forecast_before = pd.DataFrame(
        {"event_value": x[tomorrow], "belief_time": ORIGIN - pd.Timedelta(hours=6)},
        index=index[tomorrow],
    )
    issued_after = forecast_before.assign(event_value=1e3, belief_time=ORIGIN + RESOLUTION)
    honest = pd.concat([measured, forecast_before]).sort_index(kind="stable")
    with_late = pd.concat([honest, issued_after]).sort_index(kind="stable")
    events = index[tomorrow]

    def forecast(future_regressors):
        model = MODELS["lightgbm"]
        fitted = model.fit(
            y, ORIGIN, RESOLUTION, pd.Timedelta(days=1), future_regressors=future_regressors
        )
        return fitted(y, ORIGIN, events, future_regressors=future_regressors)[0.5]

    read = forecast({"x": honest})
    pd.testing.assert_series_equal(read, forecast({"x": with_late}))  # never read
    error = np.mean(np.abs(read.to_numpy() - y.reindex(events).to_numpy()))
    without = np.mean(np.abs(forecast({}).to_numpy() - y.reindex(events).to_numpy()))
    assert error < 0.4 < 1.0 < without  # and it informs the forecast
    # Without a forecast of x issued by the origin there is no forecast of y either, rather
    # than one read from a missing regressor (the default model then forecasts).
    assert forecast({"x": measured}).isna().all()


def test_a_regressor_without_history_does_not_stop_the_forecast():
    history = daily_profile(noise=0.1)
    events = pd.date_range(ORIGIN, periods=96, freq=RESOLUTION)
    empty = pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    forecast = learned.ridge(history, ORIGIN, events, RESOLUTION, regressors={"x": empty})
    assert forecast[0.5].notna().all()


@pytest.mark.parametrize("text", ["P1M", "P1Y", "one hour", "P", "PT"])
def test_durations_of_no_fixed_length_are_refused(text):
    from bvp.data.utc import parse_duration

    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize("days", [3, 20])
def test_the_seasonal_model_forecasts_with_one_season_or_two(days):
    """Under two weeks of history only the daily season is fitted, then the weekly too."""
    history = daily_profile(days=days, noise=0.1) + 10
    history = history[history.index < ORIGIN]
    events = pd.date_range(ORIGIN, periods=96, freq=RESOLUTION)
    for name in ("mstl-ets", "mstl-ets-log"):
        fitted = MODELS[name].fit(history, ORIGIN, RESOLUTION, pd.Timedelta(days=1))
        forecast = fitted(history, ORIGIN, events)[0.5]
        truth = daily_profile(noise=0.0).reindex(events) + 10
        assert np.mean(np.abs(forecast.to_numpy() - truth.to_numpy())) < 0.3
