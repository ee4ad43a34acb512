"""Sensors: one time series each, with its unit, resolution and local time zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Interval,
    Select,
    String,
    UniqueConstraint,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from bvp.data.db import Base
from bvp.data.models.assets import WEATHER_STATION, Asset, nearest_weather_stations
from bvp.data.sensor_attributes import SensorAttributes, attributes_of


class Sensor(Base):
    __tablename__ = "sensor"
    __table_args__ = (UniqueConstraint("asset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    event_resolution: Mapped[timedelta] = mapped_column(Interval)
    # IANA zone, for display and calendar features only: storage is always UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    # Settings of its forecasts, e.g. {"regressors": [3, 4], "country": "US"}: which keys
    # there are and what they hold is bvp.data.sensor_attributes (read with attributes_of).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")

    asset: Mapped[Asset] = relationship()

    def __repr__(self) -> str:
        return f"<Sensor {self.id} {self.name!r} [{self.unit}]>"

    @property
    def typed_attributes(self) -> SensorAttributes:
        """Its attributes as their one definition reads them (bad stored ones left out)."""
        return attributes_of(self.attributes, self.id)


# GIN indexes on expressions, made by migration 0015 (SQLAlchemy's metadata cannot
# compare expression indexes with the database's, so the models do not declare them).
REGRESSOR_INDEXES = ("ix_sensor_regressors", "ix_sensor_future_regressors")


# What a sensor's stored values mean: fixed once it holds any.
FROZEN_WITH_DATA = ("unit", "event_resolution")


class FrozenSensorError(ValueError):
    """A change to what a sensor's stored values mean (``fields``) while it holds data."""

    def __init__(self, fields: list[str]):
        super().__init__(f"{', '.join(fields)}: cannot change once the sensor holds data")
        self.fields = fields


def has_beliefs(session: Session, sensor_id: int) -> bool:
    return bool(
        session.scalar(
            text("SELECT EXISTS (SELECT 1 FROM timed_belief WHERE sensor_id = :sensor_id)"),
            {"sensor_id": int(sensor_id)},
        )
    )


def change_sensor(session: Session, sensor: Sensor, changes: dict[str, Any]) -> None:
    """Apply ``changes`` to ``sensor``; its unit and resolution cannot change once it
    holds data (FrozenSensorError names them), for every caller: API, CLI, scripts."""
    frozen = [k for k in FROZEN_WITH_DATA if k in changes and changes[k] != getattr(sensor, k)]
    if frozen and has_beliefs(session, sensor.id):
        raise FrozenSensorError(frozen)
    for key, value in changes.items():
        setattr(sensor, key, value)


def sensors_in_scope(account_id: int | None) -> Select[tuple[Sensor]]:
    """Sensors of one account (None: of all accounts, for admins)."""
    query = select(Sensor).join(Asset).order_by(Sensor.id)
    return query if account_id is None else query.where(Asset.account_id == account_id)


def count_sensors_in_scope(session: Session, account_id: int | None) -> int:
    return session.scalar(
        select(func.count()).select_from(sensors_in_scope(account_id).order_by(None).subquery())
    )


def find_sensor(session: Session, sensor_id: int, account_id: int | None) -> Sensor | None:
    """The sensor if it exists within the scope; None also when it belongs elsewhere."""
    return session.scalar(sensors_in_scope(account_id).where(Sensor.id == sensor_id))


def find_sensor_named(session: Session, asset_id: int, name: str) -> Sensor | None:
    """The asset's sensor with this name (unique per asset)."""
    return session.scalar(select(Sensor).where(Sensor.asset_id == asset_id, Sensor.name == name))


def resolutions_of(session: Session, sensor_ids: Iterable[int]) -> dict[int, timedelta]:
    """Sensor id -> its event resolution, for those that exist: one query."""
    query = select(Sensor.id, Sensor.event_resolution).where(Sensor.id.in_(list(sensor_ids)))
    return dict(session.execute(query).all())


def sensors_with_attribute(key: str) -> Select[tuple[Sensor]]:
    """Sensors whose attributes have ``key`` (e.g. ``reforecast_every``)."""
    return select(Sensor).where(Sensor.attributes.has_key(key))


def sensors_ingested_as(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """Manifest sensor key -> the id of the sensor the ingestion made for it (its
    ``ingested_as`` attribute), for the keys that have one. One query for any number:
    every ingested sensor's key, matched here (a list of 10,000 keys in SQL took longer
    than reading every key)."""
    wanted = set(keys)
    query = select(Sensor.attributes["ingested_as"].astext, Sensor.id).where(
        Sensor.attributes.has_key("ingested_as")
    )
    return {key: sensor_id for key, sensor_id in session.execute(query) if key in wanted}


def sensors_using_as_regressor(session: Session, sensor_id: int) -> list[int]:
    """Sensors of the same account whose forecasts use ``sensor_id``'s data, as a past
    or a future regressor: new data there (a measurement, a weather forecast) calls for
    their forecasts again.

    (attributes.regressors and attributes.future_regressors; another account's sensor
    naming it is ignored.) Asked on every POST of the sensor's data: the GIN indexes on
    those two expressions (migration 0015, ``REGRESSOR_INDEXES``) make it a lookup, not a
    scan of every sensor's attributes (9 ms at 10,000 sensors).
    """
    account_id = (
        select(Asset.account_id)
        .join(Sensor, Sensor.asset_id == Asset.id)
        .where(Sensor.id == sensor_id)
    ).scalar_subquery()
    names_it = or_(
        Sensor.attributes["regressors"].contains([sensor_id]),
        Sensor.attributes["future_regressors"].contains([sensor_id]),
    )
    return list(
        session.scalars(
            select(Sensor.id)
            .join(Asset)
            .where(names_it, Asset.account_id == account_id)
            .order_by(Sensor.id)
        )
    )


def regressors_of(session: Session, sensor: Sensor, kind: str = "regressors") -> list[int]:
    """The sensor's regressors (``attributes.regressors``, or with ``kind``
    ``future_regressors``) that belong to the same account: another account's sensor is
    never read into this one's forecasts.

    A sensor that names no ``regressors`` at all takes the sensors of its account's
    weather station nearest its asset, within 50 km (an empty list: none)."""
    wanted = getattr(sensor.typed_attributes, kind)
    if kind == "regressors" and wanted is None:
        return _nearest_weather(session, sensor)
    allowed = sensors_of_account(session, wanted or [], sensor.asset.account_id)
    return [r for r in wanted or [] if r in allowed]


def sensors_of_account(session: Session, sensor_ids: list[int], account_id: int) -> set[int]:
    """Which of ``sensor_ids`` exist in the account (regressors must)."""
    if not sensor_ids:
        return set()
    return set(
        session.scalars(
            select(Sensor.id)
            .join(Asset)
            .where(Sensor.id.in_(sensor_ids), Asset.account_id == account_id)
        )
    )


def _nearest_weather(session: Session, sensor: Sensor) -> list[int]:
    if sensor.asset.asset_type == WEATHER_STATION:
        return []  # a station's own sensors are not each other's weather
    stations = nearest_weather_stations(session, sensor.asset)
    if not stations:
        return []
    return list(
        session.scalars(select(Sensor.id).where(Sensor.asset_id == stations[0]).order_by(Sensor.id))
    )


def sensors_with_assets(session: Session, sensor_ids: Iterable[int]) -> dict[int, Sensor]:
    """These sensors with their assets loaded, by id (missing ids are left out); one
    query for the sensors, one for their assets."""
    query = (
        select(Sensor).options(selectinload(Sensor.asset)).where(Sensor.id.in_(list(sensor_ids)))
    )
    return {sensor.id: sensor for sensor in session.scalars(query)}
