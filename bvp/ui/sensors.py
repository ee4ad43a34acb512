"""The sensors page (the user's sensors, their last value and freshness) and a sensor's
page (its chart of measurements and forecasts, and the model that forecasts it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from flask import abort, current_app, render_template, request
from sqlalchemy.orm import Session, selectinload

from bvp.data.beliefs import latest_beliefs
from bvp.data.models import Asset, ModelSelection, Sensor, TrainedModel
from bvp.data.models.accounts import WRITE_DATA_ROLES
from bvp.data.models.data_sources import forecaster_source_ids
from bvp.data.models.sensors import count_sensors_in_scope, find_sensor, sensors_in_scope
from bvp.data.models.trained_models import stored_models
from bvp.data.newest_events import newest_measured_values
from bvp.data.transactional import transactional
from bvp.data.utc import iso_duration, parse_duration, utcnow
from bvp.forecasting.pipeline import DEFAULT_MODEL, MAX_HORIZON, latest_origin
from bvp.ui import dashboard
from bvp.ui.auth import account_scope
from bvp.ui.charts import SensorReadings, figure_json, sensor_caption, sensor_figure
from bvp.ui.forms import WindowForm
from bvp.ui.sensor_actions import (
    FORECAST_ROLES,
    ActionForm,
    UploadForm,
    can,
    followed_jobs,
)

DEFAULT_DAYS = 3
BAND = (0.1, 0.9)
PAGE_SIZE = 100  # sensors per page: a fleet of 10,000 took 1.2 s to render on one


@dataclass
class SensorRow:
    id: int
    name: str
    asset: str
    account: str
    unit: str
    resolution: str
    timezone: str
    last_value: float | None
    last_event_end: datetime | None
    age: timedelta | None
    stale: bool


@dataclass
class ModelInUse:
    model: str
    chosen: bool  # by a backtest; else the default until one has run
    selected_at: datetime | None
    mase: float | None
    scores: list[dict]  # per model: name, mae, mase, bias, pinball, coverage
    members: list[str] = field(default_factory=list)  # of an ensemble
    fits: list[TrainedModel] = field(default_factory=list)  # stored, per horizon


@dataclass
class SensorPage:
    sensor: SensorRow
    start: datetime
    end: datetime
    readings: SensorReadings
    measured_until: datetime | None  # the end of the last measured event
    model: ModelInUse


@dashboard.get("/sensors")
def sensors():
    stale_after = parse_duration(current_app.config["DASHBOARD_STALE_AFTER"])
    page = request.args.get("page", 1, type=int)
    scope = account_scope()
    with transactional() as session:
        total = count_sensors_in_scope(session, scope)
        pages = max(1, -(-total // PAGE_SIZE))
        if not 1 <= page <= pages:
            abort(404, f"There is no page {page} of sensors: pages 1 to {pages}.")
        rows = sensor_rows(session, scope, utcnow(), stale_after, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return render_template(
        "sensors.html", title="Sensors", rows=rows, total=total, page=page, pages=pages
    )


@dashboard.get("/sensors/<int:sensor_id>")
def sensor(sensor_id: int):
    form = WindowForm(request.args)
    valid = form.validate()
    with transactional() as session:
        found = find_sensor(session, sensor_id, account_scope())
        if found is None:
            abort(404, f"There is no sensor {sensor_id}.")
        page = sensor_page(session, found, form if valid else WindowForm())
    if valid:
        show_window(form, found.timezone, page.start, page.end)
    figure = caption = None
    if not page.readings.empty:
        figure = figure_json(
            sensor_figure(
                page.readings,
                found.unit,
                found.timezone,
                page.start,
                page.end,
                resolution=found.event_resolution,
            )
        )
        caption = sensor_caption(page.readings, found.name, found.unit, found.timezone)
    html = render_template(
        "sensor.html",
        title=page.sensor.name,
        page=page,
        form=form,
        figure=figure,
        caption=caption,
        upload_form=UploadForm() if can(WRITE_DATA_ROLES) else None,
        action_form=ActionForm() if can(FORECAST_ROLES) else None,
        jobs=followed_jobs(sensor_id),
    )
    return html, 200 if valid else 400


def sensor_rows(
    session: Session,
    account_id: int | None,
    now: datetime,
    stale_after: timedelta,
    offset: int = 0,
    limit: int | None = None,
) -> list[SensorRow]:
    """The sensors in scope (``limit`` of them from ``offset``, by id), each with its
    latest measured value and how old it is (three queries however many sensors)."""
    query = (
        sensors_in_scope(account_id)
        .options(selectinload(Sensor.asset).selectinload(Asset.account))
        .offset(offset)
        .limit(limit)
    )
    sensors = list(session.scalars(query))
    newest = newest_measured_values(session, [sensor.id for sensor in sensors])
    rows = []
    for sensor in sensors:
        last_start, value = newest.get(sensor.id, (None, None))
        end = age = None
        if last_start is not None:
            end = last_start + sensor.event_resolution
            age = now - end
        stale = age is None or age > stale_after + sensor.event_resolution
        rows.append(_row(sensor, value, end, age, stale))
    return rows


def sensor_page(session: Session, sensor: Sensor, form: WindowForm) -> SensorPage:
    """Everything the sensor's page shows, for the window the form asks for: its newest
    measurement and the forecasters looked up once, every read bounded in time."""
    origin = latest_origin(session, sensor.id)
    forecasters = forecaster_source_ids(session)
    default_end = _default_end(session, sensor, origin, forecasters)
    start, end = chart_window(form, sensor, default_end)
    return SensorPage(
        sensor=_row(sensor, None, None, None, False),
        start=start,
        end=end,
        readings=sensor_readings(session, sensor.id, start, end, forecasters),
        measured_until=origin,
        model=model_in_use(session, sensor.id),
    )


def sensor_readings(
    session: Session,
    sensor_id: int,
    start: datetime,
    end: datetime,
    forecasters: list[int] | None = None,
):
    """Measurements (every source but the forecasters), the latest forecast per event and
    its p10/p90 band: band values only where the same forecast (source and belief time)
    gave them, so the band always belongs to the p50 line drawn with it."""
    if forecasters is None:
        forecasters = forecaster_source_ids(session)
    measured = latest_beliefs(session, sensor_id, start, end, exclude_sources=forecasters)
    p50 = latest_beliefs(session, sensor_id, start, end, source=forecasters)
    band = pd.DataFrame(index=p50.index)
    for probability in BAND:
        quantile = latest_beliefs(
            session, sensor_id, start, end, source=forecasters, cumulative_probability=probability
        ).reindex(p50.index)
        same_forecast = (quantile["belief_time"] == p50["belief_time"]) & (
            quantile["source_id"] == p50["source_id"]
        )
        band[probability] = quantile["event_value"].where(same_forecast)
    return SensorReadings(measured["event_value"], p50["event_value"], band.dropna())


def model_in_use(session: Session, sensor_id: int) -> ModelInUse:
    selection = session.get(ModelSelection, sensor_id)
    fits = stored_models(session, [sensor_id])
    if selection is None:
        return ModelInUse(DEFAULT_MODEL, False, None, None, [], fits=fits)
    calibration = selection.calibration or {}
    scores = [{"name": name, **values} for name, values in (selection.scores or {}).items()]
    for score in scores:  # the band the model in use forecasts with, calibrated on these days
        if score["name"] == selection.model and calibration.get("coverage") is not None:
            score["coverage"] = calibration["coverage"]
    scores.sort(key=lambda s: (s.get("mase") is None, s.get("mase") or 0.0, s["name"]))
    members = calibration.get("members") or []
    return ModelInUse(
        selection.model, True, selection.selected_at, selection.mase, scores, members, fits
    )


def chart_window(form: WindowForm, sensor: Sensor, default_end: datetime):
    """[start, end) in UTC: whole local days when dates are given, else the last days up
    to ``default_end``."""
    days = timedelta(days=form.days.data or DEFAULT_DAYS)
    first, last = form.start.data, form.end.data
    if first and last:
        return _midnight(first, sensor), _midnight(last + timedelta(days=1), sensor)
    if last:
        end = last + timedelta(days=1)
        return _midnight(end - days, sensor), _midnight(end, sensor)
    if first:
        return _midnight(first, sensor), _midnight(first + days, sensor)
    return default_end - days, default_end


def show_window(form: WindowForm, timezone: str, start: datetime, end: datetime) -> None:
    """Put the window shown into the form's date pickers: its first and last local days
    (the end is exclusive), so the pickers never sit empty beside a chart and "Show"
    shows those days whole."""
    first = pd.Timestamp(start).tz_convert(timezone).date()
    last = (pd.Timestamp(end) - pd.Timedelta(microseconds=1)).tz_convert(timezone).date()
    form.start.data, form.end.data = first, last
    form.start.raw_data = form.end.raw_data = None  # rendered from data, not as typed


def _default_end(
    session: Session, sensor: Sensor, origin: datetime | None, forecasters: list[int]
) -> datetime:
    """The end of the latest forecast (from the newest measurement on); else of the last
    measurement; else now."""
    if origin is None:
        return utcnow()
    forecasts = latest_beliefs(session, sensor.id, origin, origin + MAX_HORIZON, source=forecasters)
    if not forecasts.empty:
        return forecasts.index[-1].to_pydatetime() + sensor.event_resolution
    return origin


def _midnight(day: date, sensor: Sensor) -> datetime:
    local = pd.Timestamp(day).tz_localize(
        sensor.timezone, ambiguous=True, nonexistent="shift_forward"
    )
    return local.tz_convert("UTC").to_pydatetime()


def _row(sensor: Sensor, value, end, age, stale: bool) -> SensorRow:
    return SensorRow(
        id=sensor.id,
        name=sensor.name,
        asset=sensor.asset.name,
        account=sensor.asset.account.name,
        unit=sensor.unit,
        resolution=iso_duration(sensor.event_resolution),
        timezone=sensor.timezone,
        last_value=value,
        last_event_end=end,
        age=age,
        stale=stale,
    )
