"""The manifest's sensors in the database: found, or made on first use.

Accounts are never made here (who may log in to them is an admin's decision); assets
and sensors are. A sensor that exists with another unit or resolution than the manifest
says is an error: the file would be read wrongly.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bvp.data.models import Asset, Sensor
from bvp.data.models.accounts import find_account_by_name
from bvp.data.models.assets import find_asset_named
from bvp.data.models.sensors import find_sensor_named
from bvp.data.utc import iso_duration
from bvp.ingestion.manifest import SensorSpec


class SensorMismatchError(ValueError):
    pass


def ensure_sensors(
    session: Session, specs: dict[str, SensorSpec], keys: set[str]
) -> dict[str, Sensor]:
    """Manifest sensor key -> Sensor, for ``keys``; inside the caller's transaction."""
    found = {}
    for key in sorted(keys):
        spec = specs[key]
        account = find_account_by_name(session, spec.account)
        if account is None:
            raise SensorMismatchError(
                f"sensor {key!r}: account {spec.account!r} does not exist; "
                "create it first (flask accounts add)"
            )
        asset = _get_or_add(
            session,
            partial(find_asset_named, session, account.id, spec.asset),
            Asset(
                name=spec.asset,
                asset_type=spec.asset_type,
                account_id=account.id,
                timezone=spec.timezone,
            ),
        )
        sensor = _get_or_add(
            session,
            partial(find_sensor_named, session, asset.id, spec.name),
            Sensor(
                name=spec.name,
                unit=spec.unit,
                event_resolution=spec.event_resolution,
                timezone=spec.timezone,
                asset_id=asset.id,
                attributes={"ingested_as": key},
            ),
        )
        if sensor.unit != spec.unit or sensor.event_resolution != spec.event_resolution:
            raise SensorMismatchError(
                f"sensor {key!r}: the database has {spec.asset}/{spec.name} in {sensor.unit} "
                f"per {iso_duration(sensor.event_resolution)}, the manifest says {spec.unit} "
                f"per {iso_duration(spec.event_resolution)}"
            )
        if sensor.attributes.get("ingested_as") != key:
            sensor.attributes = {**sensor.attributes, "ingested_as": key}
        found[key] = sensor
    return found


Row = TypeVar("Row", Asset, Sensor)


def _get_or_add(session: Session, find: Callable[[], Row | None], new: Row) -> Row:
    """The row ``find`` finds, else ``new``, added; when a concurrent run adds the same
    row first, its row (our insert is undone in a savepoint)."""
    found = find()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(new)
        return new
    except IntegrityError:
        return find()
