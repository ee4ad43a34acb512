"""Tokens: issued for the right password, required everywhere but health, revocable, expiring."""

from datetime import timedelta

import pytest

from bvp.data.models import AuthToken
from tests.api.conftest import PASSWORD


def test_token_for_email_and_password_opens_the_api(app, world):
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/token", json={"email": "user@north.example", "password": PASSWORD}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert response.get_json()["expires_at"].endswith("+00:00")
    sensors = client.get("/api/v1/sensors", headers={"Authorization": f"Bearer {token}"})
    assert sensors.status_code == 200


def test_wrong_password_is_401_json(app, world):
    response = app.test_client().post(
        "/api/v1/auth/token", json={"email": "user@north.example", "password": "nope"}
    )
    assert response.status_code == 401
    assert response.get_json()["message"] == "Wrong email or password."


def test_inactive_user_gets_no_token(app, db, world):
    from bvp.data.models import User

    db.get(User, world["north"]["users"]["user"]).active = False
    db.commit()
    response = app.test_client().post(
        "/api/v1/auth/token", json={"email": "user@north.example", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_token_request_without_email_names_the_field(app, world):
    response = app.test_client().post("/api/v1/auth/token", json={"password": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"email": ["Missing data for required field."]}


@pytest.mark.parametrize(
    "url", ["/api/v1/sensors", "/api/v1/assets", "/api/v1/sensors/1/data?start=x&end=y"]
)
def test_every_route_but_health_needs_a_token(app, world, url):
    response = app.test_client().get(url)
    assert response.status_code == 401
    assert "Bearer" in response.get_json()["message"]
    health = app.test_client().get("/api/v1/health")  # no token needed
    assert health.status_code == 200 and health.get_json()["status"] == "healthy"


def test_a_revoked_token_no_longer_works(as_):
    caller = as_("user")
    assert caller.get("/api/v1/sensors").status_code == 200
    assert caller.delete("/api/v1/auth/token").status_code == 204
    response = caller.get("/api/v1/sensors")
    assert response.status_code == 401
    assert response.get_json()["message"] == "The token is unknown, expired or revoked."


def test_an_expired_token_no_longer_works(as_, db):
    caller = as_("user")
    record = db.query(AuthToken).one()
    record.expires_at = record.created_at - timedelta(seconds=1)
    db.commit()
    assert caller.get("/api/v1/sensors").status_code == 401


def test_tokens_are_stored_hashed(as_, db):
    caller = as_("user")
    stored = db.query(AuthToken).one().token_hash
    assert caller.token not in stored and len(stored) == 64


def test_too_many_requests_from_one_client_is_429(app, as_):
    caller, other = as_("user"), as_("viewer")
    app.config["RATE_LIMIT"] = "3 per minute"
    try:
        responses = [caller.get("/api/v1/sensors") for _ in range(4)]
        other_status = other.get("/api/v1/sensors").status_code
    finally:
        app.config["RATE_LIMIT"] = "1200 per minute"
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].get_json()["status"] == 429
    assert "Retry-After" in responses[-1].headers
    assert other_status == 200  # limits are per client


def test_password_guessing_is_limited_per_address_whatever_the_headers(app, world):
    client = app.test_client()
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = [
            client.post(
                "/api/v1/auth/token",
                json={"email": "user@north.example", "password": f"guess {i}"},
                headers={"Authorization": f"Bearer made-up-{i}"},  # a fresh "client" each time
            ).status_code
            for i in range(4)
        ]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "20 per minute"
    assert statuses == [401, 401, 401, 429]
