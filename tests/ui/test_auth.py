"""Signing in and out of the dashboard with the API's users, passwords and roles."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bvp.data.models import User
from bvp.data.passwords import hash_password
from tests.ui.conftest import PASSWORD, csrf_token, sign_in


def test_pages_ask_for_a_sign_in_and_come_back_after_it(app, world):
    client = app.test_client()
    asked = client.get("/dashboard/jobs")
    assert asked.status_code == 302
    assert asked.location == "/dashboard/login?next=%2Fdashboard%2Fjobs"
    login = client.get(asked.location)
    assert login.status_code == 200 and "<title>Sign in · BVP</title>" in login.text
    back = client.post(
        asked.location,
        data={
            "email": "viewer@north.example",
            "password": PASSWORD,
            "csrf_token": csrf_token(login.text),
        },
    )
    assert back.status_code == 302 and back.location == "/dashboard/jobs"
    assert "viewer@north.example" in client.get("/dashboard/jobs").text


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/dashboard/",
        "/\\evil.example",
        "/api/v1/",
        "/dashboard/logout",
    ],
)
def test_after_sign_in_only_dashboard_pages_are_a_destination(app, world, target):
    client = app.test_client()
    page = client.get("/dashboard/login")
    response = client.post(
        "/dashboard/login",
        query_string={"next": target},
        data={
            "email": "user@north.example",
            "password": PASSWORD,
            "csrf_token": csrf_token(page.text),
        },
    )
    assert response.status_code == 302 and response.location == "/dashboard/sensors"


@pytest.mark.parametrize("address", ["/", "/dashboard"])  # /dashboard: the demo prints it
def test_the_root_and_the_dashboards_address_lead_to_the_dashboard(app, address):
    response = app.test_client().get(address)
    assert response.status_code == 302 and response.location == "/dashboard/sensors"


@pytest.mark.parametrize(
    ("email", "password"),
    [("user@north.example", "wrong password"), ("nobody@north.example", PASSWORD)],
)
def test_a_wrong_password_or_unknown_email_signs_no_one_in(app, world, email, password):
    client = app.test_client()
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert client.get("/dashboard/sensors").status_code == 302  # still signed out


def test_the_login_form_needs_its_csrf_token(app, world):
    client = app.test_client()
    client.get("/dashboard/login")  # a session with a token, which the post leaves out
    without = client.post(
        "/dashboard/login", data={"email": "user@north.example", "password": PASSWORD}
    )
    assert without.status_code == 400
    assert "CSRF" in without.text or "expired" in without.text
    forged = client.post(
        "/dashboard/login",
        data={"email": "user@north.example", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert forged.status_code == 400
    assert client.get("/dashboard/sensors").status_code == 302


def test_sign_out_needs_the_csrf_token_too_and_then_ends_the_session(signed_in):
    client = signed_in("user")
    assert client.post("/dashboard/logout").status_code == 400  # another site cannot
    assert client.get("/dashboard/sensors").status_code == 200
    page = client.get("/dashboard/sensors")
    out = client.post("/dashboard/logout", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 302 and out.location == "/dashboard/login"
    assert client.get("/dashboard/sensors").status_code == 302


def test_a_deactivated_user_is_signed_out_at_once(signed_in, database):
    client = signed_in("user")
    with database() as db:
        db.execute(update(User).where(User.email == "user@north.example").values(active=False))
    assert client.get("/dashboard/sensors").status_code == 302
    assert sign_in(client, "user@north.example").status_code == 401


def test_a_password_change_ends_other_sessions(signed_in, database):
    client = signed_in("user")
    with database() as db:
        db.execute(
            update(User)
            .where(User.email == "user@north.example")
            .values(password_hash=hash_password("a new password"))
        )
    assert client.get("/dashboard/sensors").status_code == 302
    assert sign_in(client, "user@north.example", "a new password").status_code == 302


def test_password_guessing_is_rate_limited(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    responses = [sign_in(client, "user@north.example", "guess") for _ in range(4)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert "Too Many Requests" in responses[-1].text
    assert sign_in(client, "user@north.example").status_code == 429  # the right one too
