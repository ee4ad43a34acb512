"""Making one forecast: read what was known at the origin, run a model, store beliefs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.belief_copy import empty_beliefs_frame
from bvp.data.beliefs import SaveResult, latest_beliefs, save_beliefs
from bvp.data.models import DataSource, ModelSelection, Sensor
from bvp.data.models.beliefs import last_measured_event_start, last_measured_event_starts
from bvp.data.models.data_sources import (
    FORECASTER,
    forecaster_source_ids,
    get_or_create_source,
)
from bvp.data.models.model_selection import store_selection
from bvp.data.models.sensors import regressors_of, resolutions_of
from bvp.data.models.trained_models import TrainedModel, stored_models
from bvp.data.units import parse_unit
from bvp.data.utc import to_utc, utcnow
from bvp.forecasting.backtest import Backtest, backtest, choose
from bvp.forecasting.bounds import within_bounds
from bvp.forecasting.calibration import recent_spread, with_intervals
from bvp.forecasting.models import ENSEMBLE, MODELS, model_named
from bvp.forecasting.store import (
    FIT_INPUTS,
    MODEL_VERSION,
    Plan,
    plan,
    train,
    trained_forecaster,
)
from bvp.forecasting.threads import model_threads

MAX_HORIZON = timedelta(days=7)
# Inputs a model may read before its origin: LightGBM's year of training and its
# longest lag (two weeks).
INPUT_WINDOW = FIT_INPUTS.to_pytimedelta()
DEFAULT_MODEL = "naive-1d"  # until a backtest has chosen one
SELECTION_ORIGINS = 28  # days of day-ahead forecasts a model is chosen on


def make_forecast(
    session: Session,
    sensor_id: int,
    origin: datetime,
    horizon: timedelta,
    as_of: datetime | None = None,
    model: str | None = None,
) -> SaveResult:
    """Forecast ``sensor_id``'s events in ``[origin, origin + horizon)``, believed at origin,
    with ``model`` or else the sensor's chosen one (the default until a backtest chose).

    The model sees measured events that ended by the origin, as known at ``as_of``
    (default: now, as the job runs; a replay passes a past time): a meter reading for
    09:45-10:00 that arrives at 10:05 still informs the forecast from 10:00. Earlier
    forecasts are never history.
    The chosen model's p10 and p90, calibrated on its backtest, are stored beside the
    median as beliefs with those cumulative probabilities, within the sensor's bounds.
    (``bvp.forecasting.batch`` makes the same forecast for many sensors at once.)
    """
    sensor = _sensor(session, sensor_id)
    origin = pd.Timestamp(to_utc(origin, "origin"))
    selection = session.get(ModelSelection, sensor_id)
    chosen, calibration = forecast_plan(session, sensor_id, selection, model, origin, horizon)
    # a forecast from a stored fit reads weeks of history; a fit, a year
    history, context = model_inputs(session, sensor, origin - chosen.inputs, origin, as_of)
    model, forecast = forecast_frame(
        session, sensor, selection, chosen, calibration, origin, horizon, history, context
    )
    return save_beliefs(
        session,
        forecast_beliefs(forecast),
        sensor_id=sensor_id,
        source_id=forecaster_source(session, model).id,
        belief_time=origin.to_pydatetime(),
    )


def forecast_plan(
    session: Session,
    sensor_id: int,
    selection: ModelSelection | None,
    model: str | None,
    origin: pd.Timestamp,
    horizon: timedelta,
    records: Mapping[int, TrainedModel] | None = None,
) -> tuple[Plan, dict]:
    """The model a forecast uses (``model``, else the sensor's choice, else the default),
    its calibration, and how it gets its fit (``records``: the stored fits, when read
    already)."""
    calibration = {}
    if model is None and selection is not None and _known(selection.model):
        model, calibration = selection.model, selection.calibration or {}
    model = model or DEFAULT_MODEL
    members = calibration.get("members", [])
    return plan(session, sensor_id, model, members, origin, horizon, records), calibration


def forecast_frame(
    session: Session,
    sensor: Sensor,
    selection: ModelSelection | None,
    chosen: Plan,
    calibration: dict,
    origin: pd.Timestamp,
    horizon: timedelta,
    history: pd.Series,
    context: dict,
) -> tuple[str, pd.DataFrame]:
    """The model that forecast and its p10, p50 and p90 per event (columns 0.1, 0.5, 0.9),
    within the sensor's bounds. Writes only a fit it had to make."""
    sensor_id, model = sensor.id, chosen.model
    resolution = pd.Timedelta(sensor.event_resolution)
    events = pd.date_range(origin, origin + horizon, freq=resolution, inclusive="left")

    def median_of(chosen: Plan, calibration: dict) -> pd.Series:
        scores = {}
        if selection is not None and selection.model == chosen.model:
            scores = {"mase": selection.mase, "coverage": calibration.get("coverage")}
        forecaster = trained_forecaster(
            session, sensor_id, chosen, origin, horizon, history, resolution, context, scores
        )
        median = forecaster(history, origin, events, **context)[0.5]
        return within_bounds(median, resolution, **context)

    median = median_of(chosen, calibration)
    if median.isna().all() and model != DEFAULT_MODEL:
        # The chosen model could not forecast (e.g. its inputs ran dry): the default can.
        model, calibration = DEFAULT_MODEL, {}
        median = median_of(plan(session, sensor_id, model, [], origin, horizon), calibration)
    banded = with_intervals(
        median,
        calibration.get("offsets"),
        recent_spread(history, origin, resolution),
        sensor.timezone,
    )
    return model, within_bounds(banded, resolution, **context)  # the band too: none at night


def forecaster_source(session: Session, model: str) -> DataSource:
    """The data source of BVP's forecasts by ``model`` at this model version."""
    return get_or_create_source(session, "BVP", FORECASTER, model=model, version=MODEL_VERSION)


def forecast_beliefs(forecast: pd.DataFrame) -> dict:
    """A forecast's quantiles as the columns ``save_beliefs`` takes."""
    frame = forecast.melt(ignore_index=False, var_name="cumulative_probability")
    return {
        "event_start": frame.index,
        "event_value": frame["value"].to_numpy(),
        "cumulative_probability": frame["cumulative_probability"].to_numpy(dtype=float),
    }


def _known(model: str) -> bool:
    """A stored choice of a model this version no longer has is ignored until re-chosen."""
    return model in MODELS or model == ENSEMBLE


def model_inputs(
    session: Session,
    sensor: Sensor,
    since: datetime,
    until: datetime,
    as_of: datetime | None = None,
) -> tuple[pd.Series, dict]:
    """The sensor's measurements and its regressors' (never forecasts), and the context
    its models take: time zone, country, past regressors, future regressors (every
    belief, weather forecasts included, to be read as known at each origin), the asset's
    location (for the sun) and the sensor's physical bounds."""
    forecasters = forecaster_source_ids(session)
    history = measured_values(
        latest_beliefs(session, sensor.id, since, until, as_of=as_of, exclude_sources=forecasters)
    )
    return history, model_context(session, sensor, since, until, as_of, forecasters)


def measured_values(frame: pd.DataFrame) -> pd.Series:
    """A sensor's history as its models take it: the values, and the newest belief time."""
    values = frame["event_value"]
    values.attrs["newest_belief"] = (
        frame["belief_time"].max().to_pydatetime() if len(frame) else None
    )
    return values


def model_context(
    session: Session,
    sensor: Sensor,
    since: datetime,
    until: datetime,
    as_of: datetime | None,
    forecasters: list[int],
) -> dict:
    """What the sensor's models take besides its history (see ``model_inputs``)."""

    def measured(sensor_id: int) -> pd.Series:
        return measured_values(
            latest_beliefs(
                session, sensor_id, since, until, as_of=as_of, exclude_sources=forecasters
            )
        )

    regressors = {f"sensor_{r}": measured(r) for r in regressors_of(session, sensor)}
    # Future regressors: every belief, forecasts too, up to the longest horizon past
    # ``until``; each forecast reads them as known at its own origin (``known_at``).
    future = {
        f"sensor_{r}": latest_beliefs(
            session, r, since, until + MAX_HORIZON, as_of=as_of, every_belief=True
        )
        for r in regressors_of(session, sensor, "future_regressors")
    }
    attributes = sensor.typed_attributes
    given = attributes.model_fields_set  # a null given is "none", not the default
    solar = sensor.asset.asset_type == "pv" or parse_unit(sensor.unit).kind == "irradiance"
    solar_floor = 0.0 if solar else None
    context = {
        "timezone": sensor.timezone,
        "country": attributes.country,
        "regressors": regressors,
        "future_regressors": future,
        "latitude": sensor.asset.latitude,
        "longitude": sensor.asset.longitude,
        "lower_bound": attributes.lower_bound if "lower_bound" in given else solar_floor,
        "upper_bound": attributes.capacity,
        "daylight_only": attributes.daylight_only if "daylight_only" in given else solar,
        "threads": model_threads(),
    }
    return context


def current_model(session: Session, sensor_id: int) -> str:
    return current_choice(session, sensor_id)[0]


def model_choice(session: Session, sensor_id: int) -> dict:
    """What forecasts the sensor, for operators and clients: the model, an ensemble's
    members, when it was chosen, its MASE, its band's coverage and every candidate's
    scores (the default model, unchosen, until a backtest has run)."""
    selection = session.get(ModelSelection, sensor_id)
    if selection is None or not _known(selection.model):
        return {
            "sensor_id": sensor_id,
            "model": DEFAULT_MODEL,
            "members": [],
            "chosen": False,
            "selected_at": None,
            "mase": None,
            "coverage": None,
            "scores": {},
        }
    calibration = selection.calibration or {}
    return {
        "sensor_id": sensor_id,
        "model": selection.model,
        "members": calibration.get("members") or [],
        "chosen": True,
        "selected_at": selection.selected_at,
        "mase": selection.mase,
        "coverage": calibration.get("coverage"),
        "scores": selection.scores or {},
    }


def selection_is_stale(session: Session, sensor_id: int, max_age: timedelta) -> bool:
    return choice_is_stale(session.get(ModelSelection, sensor_id), max_age)


def choice_is_stale(selection: ModelSelection | None, max_age: timedelta) -> bool:
    if selection is None or not _known(selection.model):
        return True  # never chosen, or chosen among models this version no longer has
    return selection.selected_at < utcnow() - max_age


def select_model(session: Session, sensor_id: int) -> ModelSelection:
    """Backtest every model (and the ensemble of the best) day-ahead from the last 28
    local midnights, keep the lowest MASE, and calibrate its intervals on those days."""
    sensor = _sensor(session, sensor_id)
    origin = latest_origin(session, sensor_id)
    choice = None
    if origin is not None:
        # the last local midnight whose whole day is measured, and the 27 before it
        last = (pd.Timestamp(origin).tz_convert(sensor.timezone) - pd.Timedelta(days=1)).normalize()
        start = last - pd.Timedelta(days=SELECTION_ORIGINS - 1)
        end = last + pd.Timedelta(hours=1)
        result = backtest_sensor(session, sensor_id, start, end, list(MODELS))
        if not result.forecasts.empty:
            choice = choose(result, sensor.timezone)
    if choice is None:
        store_selection(session, sensor_id, DEFAULT_MODEL, None, {}, utcnow())
    else:
        calibration = {
            "members": choice.members,
            "offsets": choice.offsets,
            "coverage": choice.coverage,
        }
        store_selection(
            session, sensor_id, choice.model, choice.mase, choice.scores, utcnow(), calibration
        )
    return session.get(ModelSelection, sensor_id, populate_existing=True)


def train_model(session: Session, sensor_id: int, horizon: timedelta) -> dict:
    """Fit the sensor's chosen model at its latest origin and store it for ``horizon``
    (what the daily training job does); a model that fits as it forecasts stores nothing."""
    sensor = _sensor(session, sensor_id)
    origin = latest_origin(session, sensor_id)
    model, calibration = current_choice(session, sensor_id)
    if origin is None:
        return {"model": model, "trained": False, "reason": "no measurements yet"}
    if model_named(model, calibration.get("members", [])).refit_every is None:
        return {"model": model, "trained": False, "reason": "fitted at every forecast"}
    origin = pd.Timestamp(origin)
    history, context = model_inputs(session, sensor, origin - INPUT_WINDOW, origin)
    selection = session.get(ModelSelection, sensor_id)
    fit = train(
        session,
        sensor_id,
        model,
        calibration.get("members", []),
        origin,
        horizon,
        history,
        pd.Timedelta(sensor.event_resolution),
        context,
        {"mase": selection.mase, "coverage": calibration.get("coverage")} if selection else {},
    )
    if not fit.stored:
        return {"model": model, "trained": False, "reason": "too little history to learn from"}
    return {
        "model": model,
        "trained": True,
        "trained_until": origin.isoformat(),
        "fit_seconds": round(fit.cpu_seconds, 3),
    }


def retrain_stored_models(session: Session, sensor_id: int) -> list[dict]:
    """Train the newly chosen model for every horizon the sensor has a stored model for."""
    return [train_model(session, sensor_id, r.horizon) for r in stored_models(session, [sensor_id])]


def current_choice(session: Session, sensor_id: int) -> tuple[str, dict]:
    """The sensor's model and its calibration (the default, uncalibrated, until chosen)."""
    selection = session.get(ModelSelection, sensor_id)
    if selection is None or not _known(selection.model):
        return DEFAULT_MODEL, {}
    return selection.model, selection.calibration or {}


def _sensor(session: Session, sensor_id: int) -> Sensor:
    sensor = session.get(Sensor, sensor_id)
    if sensor is None:
        raise LookupError(f"sensor {sensor_id} does not exist")
    return sensor


def latest_origin(session: Session, sensor_id: int) -> datetime | None:
    """The end of the last measured event: where the next forecasts start."""
    last_start = last_measured_event_start(session, sensor_id)
    if last_start is None:
        return None
    return last_start + session.get(Sensor, sensor_id).event_resolution


def forecast_origins(session: Session, sensor_ids: list[int]) -> dict[int, datetime | None]:
    """Where each sensor's next forecasts start (None: no measurements yet): two queries
    however many sensors."""
    starts = last_measured_event_starts(session, sensor_ids)
    resolutions = resolutions_of(session, starts)
    return {
        sensor_id: starts[sensor_id] + resolutions[sensor_id] if sensor_id in starts else None
        for sensor_id in sensor_ids
    }


def latest_forecasts(session: Session, sensor_id: int) -> pd.DataFrame:
    """The forecasts from the latest origin (the end of the last measured event) on."""
    origin = latest_origin(session, sensor_id)
    if origin is None:
        return empty_beliefs_frame()
    forecasters = forecaster_source_ids(session)
    return latest_beliefs(session, sensor_id, origin, origin + MAX_HORIZON, source=forecasters)


def backtest_sensor(
    session: Session,
    sensor_id: int,
    start: datetime,
    end: datetime,
    models: list[str],
    horizon: timedelta = timedelta(days=1),
    lead_times: list[timedelta] | None = None,
) -> Backtest:
    """Backtest with an origin at every local midnight in ``[start, end)`` (forecasts from
    the last may reach past ``end``: they are scored where measured), ``horizon`` ahead
    and scored at each of ``lead_times`` too."""
    sensor = _sensor(session, sensor_id)
    start, end = pd.Timestamp(to_utc(start, "from")), pd.Timestamp(to_utc(end, "until"))
    history, context = model_inputs(session, sensor, start - INPUT_WINDOW, end + horizon)
    local_days = pd.date_range(
        start.tz_convert(sensor.timezone).normalize(), end.tz_convert(sensor.timezone), freq="D"
    )
    origins = [o.tz_convert("UTC") for o in local_days if start <= o < end]
    return backtest(
        history,
        origins,
        pd.Timedelta(horizon),
        pd.Timedelta(sensor.event_resolution),
        models,
        lead_times=[pd.Timedelta(t) for t in lead_times or []],
        **context,
    )
