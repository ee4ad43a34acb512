"""Making one forecast: read what was known at the origin, run a model, store beliefs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bvp.data.beliefs import (
    SaveResult,
    empty_beliefs_frame,
    last_measured_event_start,
    latest_beliefs,
    save_beliefs,
)
from bvp.data.models import DataSource, Sensor
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.utc import to_utc
from bvp.forecasting.models import naive

HISTORY = timedelta(days=14)
MAX_HORIZON = timedelta(days=7)


def make_forecast(
    session: Session,
    sensor_id: int,
    origin: datetime,
    horizon: timedelta,
    as_of: datetime | None = None,
) -> SaveResult:
    """Forecast ``sensor_id``'s events in ``[origin, origin + horizon)``, believed at origin.

    The model sees measured events that ended by the origin, as known at ``as_of`` (when
    the job was created; default: now): a meter reading for 09:45-10:00 that arrives at
    10:05 still informs the forecast from 10:00. Earlier forecasts are never history.
    """
    sensor = session.get(Sensor, sensor_id)
    if sensor is None:
        raise LookupError(f"sensor {sensor_id} does not exist")
    origin = to_utc(origin, "origin")
    resolution = pd.Timedelta(sensor.event_resolution)
    history = latest_beliefs(
        session,
        sensor_id,
        origin - HISTORY,
        origin,
        as_of=as_of,
        exclude_sources=forecaster_source_ids(session),
    )
    events = pd.date_range(origin, origin + horizon, freq=resolution, inclusive="left")
    forecast = naive.seasonal_naive(
        history["event_value"], pd.Timestamp(origin), events, resolution
    )
    source = get_or_create_source(
        session, "BVP", "forecaster", model=naive.MODEL_NAME, version=naive.MODEL_VERSION
    )
    return save_beliefs(
        session,
        {"event_start": events, "event_value": forecast.to_numpy()},
        sensor_id=sensor_id,
        source_id=source.id,
        belief_time=origin,
    )


def latest_origin(session: Session, sensor_id: int) -> datetime | None:
    """The end of the last measured event: where the next forecasts start."""
    last_start = last_measured_event_start(session, sensor_id)
    if last_start is None:
        return None
    return last_start + session.get(Sensor, sensor_id).event_resolution


def forecast_origins(session: Session, sensor_ids: list[int]) -> dict[int, datetime | None]:
    """Where each sensor's next forecasts start (None: no measurements yet)."""
    return {sensor_id: latest_origin(session, sensor_id) for sensor_id in sensor_ids}


def latest_forecasts(session: Session, sensor_id: int) -> pd.DataFrame:
    """The forecasts from the latest origin (the end of the last measured event) on."""
    origin = latest_origin(session, sensor_id)
    if origin is None:
        return empty_beliefs_frame()
    forecasters = forecaster_source_ids(session)
    return latest_beliefs(session, sensor_id, origin, origin + MAX_HORIZON, source=forecasters)


def forecaster_source_ids(session: Session) -> list[int]:
    return list(session.scalars(select(DataSource.id).where(DataSource.type == "forecaster")))


def backtest_sensor(
    session: Session,
    sensor_id: int,
    start: datetime,
    end: datetime,
    models: list[str],
    horizon: timedelta = timedelta(days=1),
) -> pd.DataFrame:
    """Day-ahead backtest with an origin at every local midnight in ``[start, end)``."""
    from bvp.forecasting.backtest import backtest
    from bvp.forecasting.models.learned import TRAINING_WINDOW

    sensor = session.get(Sensor, sensor_id)
    if sensor is None:
        raise LookupError(f"sensor {sensor_id} does not exist")
    start, end = pd.Timestamp(to_utc(start, "from")), pd.Timestamp(to_utc(end, "until"))
    forecasters = forecaster_source_ids(session)
    since = start - TRAINING_WINDOW - pd.Timedelta(days=7)

    def measured(some_sensor_id: int) -> pd.Series:
        frame = latest_beliefs(session, some_sensor_id, since, end, exclude_sources=forecasters)
        return frame["event_value"]

    local_days = pd.date_range(
        start.tz_convert(sensor.timezone).normalize(), end.tz_convert(sensor.timezone), freq="D"
    )
    origins = [o.tz_convert("UTC") for o in local_days if o >= start and o + horizon <= end]
    regressors = {f"sensor_{r}": measured(r) for r in sensor.attributes.get("regressors", [])}
    return backtest(
        measured(sensor_id),
        origins,
        pd.Timedelta(horizon),
        pd.Timedelta(sensor.event_resolution),
        models,
        timezone=sensor.timezone,
        country=sensor.attributes.get("country"),
        regressors=regressors,
    )
