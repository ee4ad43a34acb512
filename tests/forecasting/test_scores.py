"""The one score function: exact figures, one fixed scale, models compared on the points
every one of them forecast, and the ensemble chosen when it is better."""

import numpy as np
import pandas as pd
import pytest

from bvp.data.scores import mase_scale, score, score_table
from bvp.forecasting.backtest import Backtest, choose

HOUR = pd.Timedelta(hours=1)


def test_scores_of_a_forecast_by_hand():
    forecast = pd.DataFrame({0.1: [0.0, 1.0, 2.0], 0.5: [1.0, 2.0, 3.0], 0.9: [2.0, 3.0, 4.0]})
    scores = score(forecast, np.array([2.0, 2.0, 5.0]), scale=2.0)
    assert scores["mae"] == 1.0  # (1 + 0 + 2) / 3
    assert scores["mase"] == 0.5
    assert scores["bias"] == -1.0
    assert scores["coverage"] == pytest.approx(2 / 3)  # 5 is above the p90 of 4
    # pinball: p10 (0.2+0.1+0.3)/3, p50 (0.5+0+1)/3, p90 (0+0.1+0.9)/3; mean of the three
    assert scores["pinball"] == pytest.approx((0.2 + 0.5 + 1 / 3) / 3)
    assert scores["points"] == 3


def test_the_scale_is_the_day_ago_naive_error_before_the_first_origin():
    index = pd.date_range("2024-01-01", periods=72, freq=HOUR, tz="UTC")
    history = pd.Series(np.r_[np.zeros(24), np.ones(24), np.full(24, 100.0)], index=index)
    # Before 2024-01-03 the day-ago naive errs by 1 on each of 24 hours; later data is unseen.
    assert mase_scale(history, index[48], HOUR) == 1.0


def long_forecasts(medians: dict[str, list[float]], actual: list[float]) -> pd.DataFrame:
    events = pd.date_range("2024-01-02", periods=len(actual), freq=HOUR, tz="UTC")
    return pd.concat(
        pd.DataFrame(
            {
                "model": name,
                "origin": events[0],
                "event": events,
                "ahead": events + HOUR - events[0],
                0.5: values,
                "actual": actual,
                "spread": 1.0,
            }
        )
        for name, values in medians.items()
    )


def test_models_are_compared_on_the_points_all_of_them_forecast():
    forecasts = long_forecasts(
        {"a": [1.0, 1.0, 1.0, 5.0], "b": [np.nan, 1.0, 1.0, 1.0]}, actual=[1.0, 1.0, 1.0, 1.0]
    )
    table = score_table(forecasts, scale=1.0)
    # "a" errs by 4 on the last point, which "b" forecast too; the first point only "a"
    # forecast is left out of both scores.
    assert table["mae"].to_dict() == {"b": 0.0, "a": 4 / 3}
    assert table["points"].to_dict() == {"b": 3, "a": 3}


def test_the_mean_of_two_models_that_err_both_ways_is_chosen():
    actual = list(np.sin(np.arange(48)))
    forecasts = long_forecasts(
        {"over": [a + 1 for a in actual], "under": [a - 1 for a in actual], "far": [5.0] * 48},
        actual,
    )
    choice = choose(Backtest(forecasts, scale=1.0, horizons=[48 * HOUR]), "UTC")
    assert choice.model == "ensemble" and sorted(choice.members) == ["over", "under"]
    assert choice.mase == pytest.approx(0.0)
    assert choice.scores["over"]["mase"] == 1.0
