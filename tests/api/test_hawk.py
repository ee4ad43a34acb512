"""Hawk-signed requests from machine clients: accepted once, refused when replayed or forged."""

import json
import time

import pytest
from mohawk import Sender

from bvp.data.models import ApiClient

BASE = "http://localhost"


@pytest.fixture
def credentials(as_):
    created = as_("user").post("/api/v1/clients", json={"name": "gateway"})
    assert created.status_code == 201
    body = created.get_json()
    return {"id": body["client_id"], "key": body["key"], "algorithm": "sha256"}


def signed(app, credentials, method, path, payload=None, **sender_kwargs):
    content = json.dumps(payload) if payload is not None else ""
    content_type = "application/json" if payload is not None else ""
    sender = Sender(
        credentials,
        BASE + path,
        method,
        content=content,
        content_type=content_type,
        **sender_kwargs,
    )
    headers = {"Authorization": sender.request_header}
    if payload is not None:
        headers["Content-Type"] = content_type
    client = app.test_client()
    call = getattr(client, method.lower())
    return call(path, data=content or None, headers=headers), sender


def test_a_signed_request_is_the_clients_user(app, credentials, world, redis):
    response, _ = signed(app, credentials, "GET", "/api/v1/users")
    assert response.status_code == 200
    assert [u["email"] for u in response.get_json()] == ["user@north.example"]


def test_signed_data_post_stores_data(app, credentials, world, redis):
    sensor = world["north"]["sensor"]
    payload = {
        "start": "2024-06-01T00:00:00Z",
        "resolution": "PT15M",
        "values": [1.0, 2.0],
        "unit": "kW",
    }
    response, _ = signed(app, credentials, "POST", f"/api/v1/sensors/{sensor}/data", payload)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 2


def test_a_replayed_request_is_refused(app, credentials, world, redis):
    first, sender = signed(app, credentials, "GET", "/api/v1/sensors")
    assert first.status_code == 200
    replay = app.test_client().get(
        "/api/v1/sensors", headers={"Authorization": sender.request_header}
    )
    assert replay.status_code == 401
    assert "replayed" in replay.get_json()["message"]


def test_a_tampered_body_is_refused(app, credentials, world, redis):
    sensor = world["north"]["sensor"]
    payload = {
        "start": "2024-06-01T00:00:00Z",
        "resolution": "PT15M",
        "values": [1.0],
        "unit": "kW",
    }
    sender = Sender(
        credentials,
        f"{BASE}/api/v1/sensors/{sensor}/data",
        "POST",
        content=json.dumps(payload),
        content_type="application/json",
    )
    payload["values"] = [1000.0]
    response = app.test_client().post(
        f"/api/v1/sensors/{sensor}/data",
        data=json.dumps(payload),
        headers={"Authorization": sender.request_header, "Content-Type": "application/json"},
    )
    assert response.status_code == 401


def test_an_old_timestamp_is_refused(app, credentials, world, redis):
    response, _ = signed(
        app, credentials, "GET", "/api/v1/sensors", _timestamp=str(int(time.time()) - 3600)
    )
    assert response.status_code == 401
    assert "timestamp" in response.get_json()["message"]


def test_wrong_key_and_revoked_client_are_refused(app, as_, credentials, world, redis):
    forged = {**credentials, "key": "not-the-key"}
    assert signed(app, forged, "GET", "/api/v1/sensors")[0].status_code == 401
    assert as_("user").delete(f"/api/v1/clients/{credentials['id']}").status_code == 204
    assert signed(app, credentials, "GET", "/api/v1/sensors")[0].status_code == 401


def test_the_key_is_stored_encrypted_and_shown_once(as_, db, credentials):
    stored = db.query(ApiClient).one()
    assert credentials["key"] not in stored.key_encrypted
    listed = as_("user").get("/api/v1/clients").get_json()
    assert listed[0]["client_id"] == credentials["id"] and "key" not in listed[0]


def test_another_users_client_cannot_be_revoked(as_, credentials):
    assert as_("viewer").delete(f"/api/v1/clients/{credentials['id']}").status_code == 404
