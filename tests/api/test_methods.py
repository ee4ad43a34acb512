"""What a path serves, as HTTP says it: PATCH needs something to change, and OPTIONS
lists the methods a path really serves (no credentials needed to ask)."""

import pytest


@pytest.mark.parametrize("thing", ["sensors", "assets", "users"])
@pytest.mark.parametrize("body", [None, {}])
def test_a_patch_without_changes_is_refused(as_, world, thing, body):
    ids = {
        "sensors": world["north"]["sensor"],
        "assets": world["north"]["asset"],
        "users": world["north"]["users"]["user"],
    }
    url = f"/api/v1/{thing}/{ids[thing]}"
    response = as_("admin").patch(url, json=body) if body is not None else as_("admin").patch(url)
    assert response.status_code == 422, response.get_json()
    assert "Give at least one field to change." in str(response.get_json()["errors"])


def test_a_patch_with_a_change_still_works(as_, world):
    url = f"/api/v1/sensors/{world['north']['sensor']}"
    response = as_("admin").patch(url, json={"name": "renamed"})
    assert response.status_code == 200 and response.get_json()["name"] == "renamed"


def test_options_lists_only_the_methods_a_path_serves(app, world):
    client = app.test_client()
    sensor = world["north"]["sensor"]
    trigger = client.open(f"/api/v3_0/sensors/{sensor}/forecasts/trigger", method="OPTIONS")
    assert trigger.status_code == 200
    assert set(trigger.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert client.get(f"/api/v3_0/sensors/{sensor}/forecasts/trigger").status_code == 405
    one = client.open(f"/api/v1/sensors/{sensor}", method="OPTIONS")
    assert set(one.headers["Allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}
