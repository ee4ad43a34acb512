"""Assets and sensors: CRUD within one's own account; other accounts do not exist."""

import numpy as np
import pandas as pd

from bvp.data.beliefs import save_beliefs
from tests.api.conftest import ids


def sensor_body(asset_id, **overrides):
    return {
        "name": "meter",
        "unit": "kW",
        "event_resolution": "PT15M",
        "timezone": "Europe/Amsterdam",
        "asset_id": asset_id,
        **overrides,
    }


def test_list_shows_only_own_account_and_admin_sees_all(as_, world):
    north_sensor, _ = ids(world)
    listed = as_("viewer").get("/api/v1/sensors").get_json()
    assert {s["asset_id"] for s in listed} == {world["north"]["asset"]}
    assert north_sensor in {s["id"] for s in listed}
    assert len(as_("admin").get("/api/v1/sensors").get_json()) == 4


def test_sensor_fields_come_back_as_sent(as_, world):
    _, asset_id = ids(world)
    created = as_("account-admin").post("/api/v1/sensors", json=sensor_body(asset_id))
    assert created.status_code == 201
    body = created.get_json()
    assert body["event_resolution"] == "PT15M"
    assert (body["unit"], body["timezone"]) == ("kW", "Europe/Amsterdam")


def test_another_accounts_things_are_not_found(as_, world):
    south_sensor, south_asset = ids(world, "south")
    north_admin = as_("account-admin")
    for response in (
        north_admin.get(f"/api/v1/sensors/{south_sensor}"),
        north_admin.patch(f"/api/v1/sensors/{south_sensor}", json={"name": "mine"}),
        north_admin.delete(f"/api/v1/sensors/{south_sensor}"),
        north_admin.get(f"/api/v1/assets/{south_asset}"),
        north_admin.patch(f"/api/v1/assets/{south_asset}", json={"name": "mine"}),
        north_admin.delete(f"/api/v1/assets/{south_asset}"),
    ):
        assert response.status_code == 404, response.get_json()
    created = north_admin.post("/api/v1/sensors", json=sensor_body(south_asset))
    assert created.status_code == 422
    assert created.get_json()["errors"] == {"asset_id": ["No such asset."]}
    assert (
        as_("admin", "south").get(f"/api/v1/sensors/{south_sensor}").get_json()["name"] == "power"
    )


def test_users_and_viewers_cannot_manage_structure(as_, world):
    sensor_id, asset_id = ids(world)
    for role in ("user", "viewer"):
        caller = as_(role)
        assert caller.post("/api/v1/sensors", json=sensor_body(asset_id)).status_code == 403
        assert caller.patch(f"/api/v1/sensors/{sensor_id}", json={"name": "x"}).status_code == 403
        assert caller.delete(f"/api/v1/sensors/{sensor_id}").status_code == 403
        assert (
            caller.post("/api/v1/assets", json={"name": "a", "asset_type": "pv"}).status_code == 403
        )


def test_bad_sensor_input_names_the_fields(as_, world):
    _, asset_id = ids(world)
    response = as_("account-admin").post(
        "/api/v1/sensors",
        json=sensor_body(asset_id, event_resolution="15 minutes", timezone="Mars/Olympus"),
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"event_resolution", "timezone"}


def test_duplicate_sensor_name_is_a_conflict(as_, world):
    _, asset_id = ids(world)
    response = as_("account-admin").post(
        "/api/v1/sensors", json=sensor_body(asset_id, name="power")
    )
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"name": ["Already taken."]}


def test_deleting_a_sensor_with_data_needs_the_flag(as_, db, world):
    sensor_id, _ = ids(world)
    events = pd.date_range("2024-06-01T00:00Z", periods=4, freq="15min")
    from bvp.data.models.data_sources import get_or_create_source

    source_id = get_or_create_source(db, "meter", "user").id
    save_beliefs(
        db,
        {"event_start": events, "event_value": np.ones(4)},
        sensor_id=sensor_id,
        source_id=source_id,
        belief_time=events[-1].to_pydatetime(),
    )
    db.commit()
    admin = as_("account-admin")
    refused = admin.delete(f"/api/v1/sensors/{sensor_id}")
    assert refused.status_code == 409
    assert "with_data" in refused.get_json()["errors"]
    assert admin.delete(f"/api/v1/sensors/{sensor_id}?with_data=true").status_code == 204
    assert admin.get(f"/api/v1/sensors/{sensor_id}").status_code == 404


def test_unit_cannot_change_once_there_is_data(as_, world):
    sensor_id, _ = ids(world)
    admin = as_("account-admin")
    assert admin.patch(f"/api/v1/sensors/{sensor_id}", json={"unit": "MW"}).status_code == 200
    admin.post(
        f"/api/v1/sensors/{sensor_id}/data",
        json={"start": "2024-06-01T00:00:00Z", "resolution": "PT15M", "values": [1], "unit": "MW"},
    )
    response = admin.patch(f"/api/v1/sensors/{sensor_id}", json={"unit": "kW"})
    assert response.status_code == 409
    assert "unit" in response.get_json()["errors"]


def test_assets_crud(as_, world):
    admin = as_("account-admin")
    created = admin.post(
        "/api/v1/assets", json={"name": "battery", "asset_type": "battery", "timezone": "UTC"}
    )
    assert created.status_code == 201
    asset_id = created.get_json()["id"]
    assert created.get_json()["account_id"] == world["north"]["account"]
    assert admin.patch(f"/api/v1/assets/{asset_id}", json={"latitude": 52.1}).status_code == 200
    assert admin.get(f"/api/v1/assets/{asset_id}").get_json()["latitude"] == 52.1
    assert admin.delete(f"/api/v1/assets/{asset_id}").status_code == 204
    assert admin.get(f"/api/v1/assets/{asset_id}").status_code == 404


def test_a_fractional_id_is_refused_not_truncated(as_, world):
    """{"asset_id": 1.5} was read as asset 1 (found by fuzzing: account_id 2.6e-42 -> 0)."""
    _, asset = ids(world)
    response = as_("account-admin").post("/api/v1/sensors", json=sensor_body(asset + 0.5))
    assert response.status_code == 422
    assert "asset_id" in response.get_json()["errors"]
    assert as_("account-admin").post("/api/v1/sensors", json=sensor_body(asset)).status_code == 201


def test_a_method_the_route_lacks_is_405_with_allow(as_, world):
    """The JSON error handler used to drop werkzeug's Allow header (RFC 9110 requires it)."""
    viewer = as_("viewer")
    response = viewer.client.put("/api/v1/sensors", headers=viewer._headers())
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert response.get_json()["status"] == 405
