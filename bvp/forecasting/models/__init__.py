"""Forecasting models: pure functions of pandas data; no session, no Redis.

A model is fitted at an origin on what was known then, and the fitted model forecasts
events from that origin or a later one: ``fit(history, origin, resolution, horizon,
**context)`` returns a forecaster, called as ``forecaster(history, origin, events,
**context)`` for a frame with the median in column 0.5. The context (time zone,
regressors, location…) is given again at each call, so a forecaster fitted yesterday
reads today's regressors. Cheap models fit at every origin; a model with
``refit_every`` is reused for origins up to that long after its fit (backtests and
selection refit it weekly, and a stored model is used as long: ``bvp.forecasting.store``).

A forecaster's ``state()`` is what it learned, as JSON-able data (LightGBM's trees as
its own text format); ``Model.restore(state, resolution)`` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from bvp.forecasting.models import boosted, learned, naive, statistical

ENSEMBLE = "ensemble"


class Forecaster(Protocol):
    def __call__(
        self, history: pd.Series, origin: pd.Timestamp, events: pd.DatetimeIndex, **context
    ) -> pd.DataFrame: ...

    def state(self) -> dict[str, Any]: ...


# History any forecast reads before its origin: two weeks of lags, and the week the band's
# spread is measured on.
SHORTEST_INPUTS = pd.Timedelta(days=15)


@dataclass(frozen=True)
class Model:
    name: str
    fit: Callable[..., Forecaster]
    restore: Callable[[dict[str, Any], pd.Timedelta], Forecaster]
    refit_every: pd.Timedelta | None = None  # None: fitted at every origin
    # The history a forecaster reads before the origin (a per-origin model's fit included,
    # a stored model's not): what a forecast from a stored fit needs to read.
    inputs: pd.Timedelta = SHORTEST_INPUTS


@dataclass(frozen=True)
class PerOrigin:
    """A model that fits as it forecasts: nothing to learn ahead, nothing to store."""

    function: Callable[..., pd.DataFrame]
    resolution: pd.Timedelta

    def __call__(self, history, origin, events, **context) -> pd.DataFrame:
        return self.function(history, origin, events, self.resolution, **context)[[0.5]]

    def state(self) -> dict[str, Any]:
        return {}


def per_origin(
    name: str, function: Callable[..., pd.DataFrame], inputs: pd.Timedelta = SHORTEST_INPUTS
) -> Model:
    def fit(history, origin, resolution, horizon, **context) -> Forecaster:
        return PerOrigin(function, resolution)

    def restore(state, resolution) -> Forecaster:
        return PerOrigin(function, resolution)

    return Model(name, fit, restore, inputs=max(inputs, SHORTEST_INPUTS))


def _naive(season: pd.Timedelta) -> Callable[..., pd.DataFrame]:
    def forecast(history, origin, events, resolution, **_context) -> pd.DataFrame:
        values = naive.seasonal_naive(history, origin, events, resolution, season=season)
        return pd.DataFrame({0.5: values.to_numpy()}, index=events)

    return forecast


MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        per_origin("naive-1d", _naive(pd.Timedelta(days=1))),
        per_origin("naive-7d", _naive(pd.Timedelta(days=7))),
        per_origin("ridge", learned.ridge, learned.TRAINING_WINDOW + pd.Timedelta(days=8)),
        per_origin("mstl-ets", statistical.mstl_ets, statistical.WINDOW),
        per_origin("mstl-ets-log", statistical.mstl_ets_multiplicative, statistical.WINDOW),
        Model(
            "lightgbm",
            boosted.fit_lightgbm,
            boosted.LightGBMForecaster.restore,
            refit_every=pd.Timedelta(days=7),
        ),
    )
}


@dataclass(frozen=True)
class Ensemble:
    """The mean of the members' medians: errors that do not move together cancel."""

    members: dict[str, Forecaster]

    def __call__(self, history, origin, events, **context) -> pd.DataFrame:
        medians = pd.concat(
            [member(history, origin, events, **context)[0.5] for member in self.members.values()],
            axis=1,
        )
        # where a member has no forecast the others speak, as in the backtest
        return pd.DataFrame({0.5: medians.mean(axis=1)}, index=events)

    def state(self) -> dict[str, Any]:
        return {"members": {name: member.state() for name, member in self.members.items()}}


def ensemble_of(members: Sequence[str]) -> Model:
    parts = {name: MODELS[name] for name in members}

    def fit(history, origin, resolution, horizon, **context) -> Forecaster:
        return Ensemble(
            {
                name: part.fit(history, origin, resolution, horizon, **context)
                for name, part in parts.items()
            }
        )

    def restore(state, resolution) -> Forecaster:
        saved = state.get("members", {})
        return Ensemble(
            {name: part.restore(saved.get(name, {}), resolution) for name, part in parts.items()}
        )

    every = [p.refit_every for p in parts.values() if p.refit_every is not None]
    inputs = max([p.inputs for p in parts.values()], default=SHORTEST_INPUTS)
    return Model(ENSEMBLE, fit, restore, min(every) if every else None, inputs)


def model_label(name: str, members: Sequence[str] = ()) -> str:
    """How a chosen model is named to people: "ensemble of lightgbm + mstl-ets"."""
    return f"{name} of {' + '.join(members)}" if members else name


def model_named(name: str, members: Sequence[str] = ()) -> Model:
    return ensemble_of(members) if name == ENSEMBLE else MODELS[name]
