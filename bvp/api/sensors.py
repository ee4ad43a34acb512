"""/api/v1/sensors: sensors of the caller's account (all accounts for admins)."""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from bvp.api.auth import MANAGE_ROLES, account_scope, authenticate, not_found, require_role
from bvp.api.errors import FORBIDDEN, NOT_FOUND, errors_documented, flush_or_conflict
from bvp.api.schemas import SensorDeleteQuerySchema, SensorSchema
from bvp.data.models import Sensor
from bvp.data.models.assets import find_asset
from bvp.data.models.sensors import (
    FrozenSensorError,
    change_sensor,
    find_sensor,
    has_beliefs,
    sensors_in_scope,
    sensors_of_account,
)
from bvp.data.transactional import transactional

sensors = Blueprint("sensors", __name__, url_prefix="/api/v1/sensors", description="Sensors")
sensors.before_request(authenticate)


@sensors.get("")
@sensors.response(200, SensorSchema(many=True))
def list_sensors():
    """Sensors you can see."""
    with transactional() as session:
        return list(session.scalars(sensors_in_scope(account_scope())))


@sensors.post("")
@sensors.arguments(SensorSchema)
@sensors.response(201, SensorSchema)
@errors_documented(sensors, {403: FORBIDDEN, 409: "A sensor with this name exists on the asset."})
def create_sensor(data):
    """Create a sensor on one of your assets."""
    require_role(MANAGE_ROLES, "creating sensors")
    with transactional() as session:
        asset = find_asset(session, data["asset_id"], account_scope())
        if asset is None:
            abort(422, message="Unknown asset.", errors={"asset_id": ["No such asset."]})
        _check_regressors(session, data["attributes"], asset.account_id)
        sensor = Sensor(**data)
        session.add(sensor)
        flush_or_conflict(session, "name", "A sensor with this name exists on the asset.")
        return sensor


@sensors.get("/<int:sensor_id>")
@sensors.response(200, SensorSchema)
@errors_documented(sensors, {404: NOT_FOUND})
def get_sensor(sensor_id: int):
    with transactional() as session:
        return find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)


@sensors.patch("/<int:sensor_id>")
@sensors.arguments(SensorSchema(partial=True))
@sensors.response(200, SensorSchema)
@errors_documented(
    sensors,
    {
        403: FORBIDDEN,
        404: NOT_FOUND,
        409: "The name is taken, or the unit or resolution of a sensor with data would change.",
    },
)
def update_sensor(data, sensor_id: int):
    """Change a sensor. Its unit and resolution cannot change once it holds data."""
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        require_role(MANAGE_ROLES, "changing sensors")
        asset = sensor.asset
        if "asset_id" in data:
            asset = find_asset(session, data["asset_id"], account_scope())
            if asset is None:
                abort(422, message="Unknown asset.", errors={"asset_id": ["No such asset."]})
        if "attributes" in data:
            _check_regressors(session, data["attributes"], asset.account_id, sensor.id)
        try:
            change_sensor(session, sensor, data)
        except FrozenSensorError as error:
            abort(
                409,
                message="The sensor holds data in its current unit and resolution.",
                errors={k: ["Cannot change once the sensor holds data."] for k in error.fields},
            )
        flush_or_conflict(session, "name", "A sensor with this name exists on the asset.")
        return sensor


def _check_regressors(session, attributes: dict, account_id: int, own_id: int | None = None):
    """Regressors name sensors of the same account, other than the sensor itself (a typo
    here would only show as a forecast without them)."""
    errors = {}
    for kind in ("regressors", "future_regressors"):
        ids = attributes.get(kind) or []
        known = sensors_of_account(session, ids, account_id) - {own_id}
        for index, sensor_id in enumerate(ids):
            if sensor_id not in known:
                reason = "Not its own regressor." if sensor_id == own_id else "No such sensor."
                errors[f"attributes.{kind}[{index}]"] = [f"{reason} (sensor {sensor_id})"]
    if errors:
        abort(422, message="Unknown regressors.", errors=errors)


@sensors.delete("/<int:sensor_id>")
@sensors.arguments(SensorDeleteQuerySchema, location="query")
@sensors.response(204)
@errors_documented(
    sensors, {403: FORBIDDEN, 404: NOT_FOUND, 409: "The sensor holds data (see with_data)."}
)
def delete_sensor(query, sensor_id: int):
    """Delete a sensor; one that holds data needs ?with_data=true (its data goes too)."""
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, account_scope()) or not_found("sensor", sensor_id)
        require_role(MANAGE_ROLES, "deleting sensors")
        if not query["with_data"] and has_beliefs(session, sensor.id):
            abort(
                409,
                message="The sensor holds data; add ?with_data=true to delete it with its data.",
                errors={"with_data": ["Needed for a sensor with data."]},
            )
        session.delete(sensor)
