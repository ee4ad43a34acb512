"""The model store: a sensor's chosen model, fitted once and reused, so forecasts only
predict.

A model with something to learn (LightGBM, an ensemble holding it) is fitted at an
origin, stored per sensor and whole number of days ahead (``reach``; in
``bvp.data.models.trained_models``), and used
for later origins as long as the backtests that chose it assumed: ``refit_every``
(a week). It is retrained daily in the background (``TRAIN_EVERY``), and at once when
missing, older than that, of another model or version than the sensor's choice, or
trained on data after the origin asked for (a backfill). Models that fit as they
forecast (naive, ridge, MSTL) store nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.models.trained_models import TrainedModel, model_state, store_model, stored_model
from bvp.data.utc import utcnow
from bvp.forecasting.horizons import reach
from bvp.forecasting.models import ENSEMBLE, Forecaster, Model, model_named

TRAIN_EVERY = timedelta(days=1)
MODEL_VERSION = "2"  # stored models and forecasters' sources of another version are unused
# A fit reads LightGBM's year of training and its longest lag (two weeks).
FIT_INPUTS = pd.Timedelta(days=365 + 15)
_CACHE_SIZE = 64  # restored forecasters kept per process


def stored_fit(session: Session, sensor_id: int, horizon: timedelta) -> TrainedModel | None:
    """The stored fit that serves forecasts ``horizon`` ahead."""
    return stored_model(session, sensor_id, reach(horizon))


@dataclass
class Fit:
    forecaster: Forecaster
    cpu_seconds: float
    stored: bool  # False: a model that fits as it forecasts, or one that learned nothing


@dataclass
class Plan:
    """How a forecast gets its model: from the store (then it reads only the recent
    history the forecaster needs) or by a fit (then the fit's whole window)."""

    model: str
    members: list[str]
    spec: Model
    record: TrainedModel | None
    reuse: bool

    @property
    def inputs(self) -> pd.Timedelta:
        return self.spec.inputs if self.reuse else FIT_INPUTS


def plan(
    session: Session,
    sensor_id: int,
    model: str,
    members: list[str],
    origin: pd.Timestamp,
    horizon: timedelta,
    records: Mapping[int, TrainedModel] | None = None,
) -> Plan:
    """With ``records`` (the stored fits of a batch's sensors, read in one query), the
    sensor's is taken from there (none there: none stored)."""
    spec = model_named(model, members)
    if spec.refit_every is None:  # fits as it forecasts, on what spec.inputs covers
        return Plan(model, list(members), spec, None, reuse=True)
    if records is None:
        record = stored_fit(session, sensor_id, horizon)
    else:
        record = records.get(sensor_id)
    return Plan(model, list(members), spec, record, usable(record, model, members, origin, spec))


def trained_forecaster(
    session: Session,
    sensor_id: int,
    chosen: Plan,
    origin: pd.Timestamp,
    horizon: timedelta,
    history: pd.Series,
    resolution: pd.Timedelta,
    context: dict,
    scores: dict | None = None,
) -> Forecaster:
    """The sensor's forecaster at ``origin``: the stored one if it may be used there,
    else a fresh fit (stored for the next forecasts when it learned something)."""
    if chosen.reuse and chosen.record is not None:
        return _restored(session, chosen.record, chosen.spec, resolution)
    fit = train(
        session,
        sensor_id,
        chosen.model,
        chosen.members,
        origin,
        horizon,
        history,
        resolution,
        context,
        scores,
    )
    return fit.forecaster


def usable(
    record: TrainedModel | None, model: str, members: list[str], origin: pd.Timestamp, spec: Model
) -> bool:
    if record is None or record.version != MODEL_VERSION:
        return False
    if record.model != model or list(record.members or []) != list(members):
        return False
    age = origin - pd.Timestamp(record.trained_until)
    return pd.Timedelta(0) <= age < spec.refit_every


def training_due(record: TrainedModel | None, origin: datetime) -> bool:
    """A stored model in use that is a day old: retrain it in the background."""
    return record is not None and origin - record.trained_until >= TRAIN_EVERY


def train(
    session: Session,
    sensor_id: int,
    model: str,
    members: list[str],
    origin: pd.Timestamp,
    horizon: timedelta,
    history: pd.Series,
    resolution: pd.Timedelta,
    context: dict,
    scores: dict | None = None,
) -> Fit:
    """Fit ``model`` at ``origin`` on what was known then and, if it learns ahead (has
    ``refit_every``), store it for every horizon up to whole days beyond ``horizon``."""
    spec = model_named(model, members)
    if spec.refit_every is None:  # fits as it forecasts: nothing to store
        return Fit(
            spec.fit(history, origin, resolution, pd.Timedelta(horizon), **context), 0, False
        )
    horizon = reach(horizon)
    started = time.process_time()
    forecaster = spec.fit(history, origin, resolution, pd.Timedelta(horizon), **context)
    fit_seconds = time.process_time() - started
    state = forecaster.state()
    features = _features(model, state)
    if not any(features.values()):  # too little history to learn from: nothing to keep
        return Fit(forecaster, fit_seconds, stored=False)
    known = history[history.index + resolution <= origin].dropna()
    store_model(
        session,
        state,
        sensor_id=sensor_id,
        horizon=horizon,
        model=model,
        members=list(members),
        version=MODEL_VERSION,
        features=features,
        trained_from=known.index.min() if len(known) else None,
        trained_until=origin.to_pydatetime(),
        data_until=history.attrs.get("newest_belief"),
        scores=scores or {},
        trained_at=utcnow(),
        fit_seconds=fit_seconds,
    )
    return Fit(forecaster, fit_seconds, stored=True)


def _features(model: str, state: dict) -> dict[str, list[str]]:
    parts = state.get("members", {}) if model == ENSEMBLE else {model: state}
    return {name: part["features"] for name, part in parts.items() if "features" in part}


_restored_cache: OrderedDict[tuple, Forecaster] = OrderedDict()


def _restored(
    session: Session, record: TrainedModel, spec: Model, resolution: pd.Timedelta
) -> Forecaster:
    """The stored forecaster, rebuilt once per process and version of the record."""
    key = (record.id, record.trained_at, record.model, tuple(record.members or []))
    if key in _restored_cache:
        _restored_cache.move_to_end(key)
        return _restored_cache[key]
    forecaster = spec.restore(model_state(session, record.id), resolution)
    _restored_cache[key] = forecaster
    while len(_restored_cache) > _CACHE_SIZE:
        _restored_cache.popitem(last=False)
    return forecaster
