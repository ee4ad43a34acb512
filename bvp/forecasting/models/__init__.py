"""Forecasting models: pure functions of pandas data; no session, no Redis.

A model is fitted at an origin on what was known then, and the fitted model forecasts
events from that origin or a later one: ``fit(history, origin, resolution, horizon,
**context)`` returns ``predict(history, origin, events)``, a frame with the median in
column 0.5. Cheap models fit at every origin; a model with ``refit_every`` is reused
for origins up to that long after its fit (backtests and selection refit it weekly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from bvp.forecasting.models import boosted, learned, naive, statistical
from bvp.forecasting.models.boosted import Predict

ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Model:
    name: str
    fit: Callable[..., Predict]
    refit_every: pd.Timedelta | None = None  # None: fitted at every origin


def per_origin(function: Callable[..., pd.DataFrame]) -> Callable[..., Predict]:
    """A model that fits as it forecasts, as a fit returning its forecaster."""

    def fit(history, origin, resolution, horizon, **context) -> Predict:
        def predict(history, origin, events):
            return function(history, origin, events, resolution, **context)[[0.5]]

        return predict

    return fit


def _naive(season: pd.Timedelta) -> Callable[..., pd.DataFrame]:
    def forecast(history, origin, events, resolution, **_context) -> pd.DataFrame:
        values = naive.seasonal_naive(history, origin, events, resolution, season=season)
        return pd.DataFrame({0.5: values.to_numpy()}, index=events)

    return forecast


MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        Model("naive-1d", per_origin(_naive(pd.Timedelta(days=1)))),
        Model("naive-7d", per_origin(_naive(pd.Timedelta(days=7)))),
        Model("ridge", per_origin(learned.ridge)),
        Model("mstl-ets", per_origin(statistical.mstl_ets)),
        Model("mstl-ets-log", per_origin(statistical.mstl_ets_multiplicative)),
        Model("lightgbm", boosted.fit_lightgbm, refit_every=pd.Timedelta(days=7)),
    )
}


def ensemble_of(members: Sequence[str]) -> Model:
    """The mean of the members' medians: errors that do not move together cancel."""
    parts = [MODELS[name] for name in members]

    def fit(history, origin, resolution, horizon, **context) -> Predict:
        fitted = [part.fit(history, origin, resolution, horizon, **context) for part in parts]

        def predict(history, origin, events):
            medians = pd.concat([f(history, origin, events)[0.5] for f in fitted], axis=1)
            # where a member has no forecast the others speak, as in the backtest
            return pd.DataFrame({0.5: medians.mean(axis=1)}, index=events)

        return predict

    every = [p.refit_every for p in parts if p.refit_every is not None]
    return Model(ENSEMBLE, fit, refit_every=min(every) if every else None)


def model_label(name: str, members: Sequence[str] = ()) -> str:
    """How a chosen model is named to people: "ensemble of lightgbm + mstl-ets"."""
    return f"{name} of {' + '.join(members)}" if members else name


def model_named(name: str, members: Sequence[str] = ()) -> Model:
    return ensemble_of(members) if name == ENSEMBLE else MODELS[name]
