"""A NUL character (which PostgreSQL cannot store) anywhere in a request is bad input:
a 422 naming where it is, and nothing stored (it was a 500)."""

import json

from sqlalchemy import func, select

from bvp.data.models import Sensor
from tests.api.test_sensors import ids, sensor_body

NUL = "\u0000"


def test_a_nul_in_a_json_field_is_refused_naming_the_field(as_, db, world):
    _, asset_id = ids(world)
    before = db.scalar(select(func.count()).select_from(Sensor))
    admin = as_("account-admin")
    for field, path in (("unit", "unit"), ("name", "name")):
        response = admin.post("/api/v1/sensors", json=sensor_body(asset_id, **{field: f"k{NUL}W"}))
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [path]
        assert "NUL" in response.get_json()["errors"][path][0]
    nested = admin.post(
        "/api/v1/sensors", json=sensor_body(asset_id, attributes={"notes": ["ok", f"a{NUL}"]})
    )
    assert nested.status_code == 422
    assert list(nested.get_json()["errors"]) == ["attributes.notes[1]"]
    assert db.scalar(select(func.count()).select_from(Sensor)) == before


def test_a_nul_in_a_query_a_path_or_a_login_is_refused(app, as_, world):
    sensor_id, _ = ids(world)
    reading = as_("viewer").get(
        f"/api/v1/sensors/{sensor_id}/data", query_string={"start": f"2024-06-01{NUL}"}
    )
    assert reading.status_code == 422 and list(reading.get_json()["errors"]) == ["start"]
    token = app.test_client().post(
        "/api/v1/auth/token", json={"email": f"user{NUL}@north.example", "password": "x"}
    )
    assert token.status_code == 422 and list(token.get_json()["errors"]) == ["email"]
    job = as_("viewer").get("/api/v1/jobs/forecast%00")
    assert job.status_code == 422 and list(job.get_json()["errors"]) == ["job_id"]
    page = app.test_client().post("/dashboard/login", data={"email": f"a{NUL}b", "password": "x"})
    assert page.status_code == 422 and "NUL" in page.text and "<html" in page.text.lower()


def test_a_lone_surrogate_in_json_is_refused_naming_the_field(as_, db, world):
    """Half of a UTF-16 pair is no character: it cannot be stored as UTF-8 either."""
    _, asset_id = ids(world)
    before = db.scalar(select(func.count()).select_from(Sensor))
    body = json.dumps(sensor_body(asset_id, name="PV \ud800 east"))  # "\\ud800" in JSON
    response = as_("account-admin").post(
        "/api/v1/sensors", data=body, content_type="application/json"
    )
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == ["name"]
    assert "lone surrogate" in response.get_json()["errors"]["name"][0]
    assert db.scalar(select(func.count()).select_from(Sensor)) == before
    emoji = json.dumps(sensor_body(asset_id, name="PV \U0001f31e"))  # a proper pair
    created = as_("account-admin").post(
        "/api/v1/sensors", data=emoji, content_type="application/json"
    )
    assert created.status_code == 201 and created.get_json()["name"] == "PV \U0001f31e"
