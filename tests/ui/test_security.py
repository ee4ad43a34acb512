"""Browser security: headers, cookies, CSRF only where browsers post forms, no CDN, and
the admin-only job queues at /rq."""

from __future__ import annotations

import base64
import re

from flask import Flask

from bvp.ui.security import init_security
from tests.ui.conftest import PASSWORD, csrf_token, sign_in


def test_dashboard_responses_carry_security_headers(signed_in, world):
    client = signed_in("viewer")
    for url in ("/dashboard/sensors", f"/dashboard/sensors/{world.sensors['north']}"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_http_only_same_site_and_secure_in_production(app, world):
    client = app.test_client()
    response = client.get("/dashboard/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests and development run on plain http
    production = Flask("production")
    production.config.update(BVP_ENV="production", SECRET_KEY="x")
    init_security(production)
    assert production.config["SESSION_COOKIE_SECURE"] is True


def test_pages_have_no_inline_script_and_nothing_from_another_host(signed_in, world):
    client = signed_in("admin")
    for url in (
        "/dashboard/sensors",
        f"/dashboard/sensors/{world.sensors['north']}",
        "/dashboard/jobs",
        "/dashboard/ingestion",
        "/dashboard/metrics",
    ):
        html = client.get(url).text
        scripts = re.findall(r"<script([^>]*)>", html)
        assert all("src=" in s or 'type="application/json"' in s for s in scripts), url
        addresses = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert all(a.startswith(("/", "#", "data:")) for a in addresses), addresses


def test_plotly_js_comes_from_the_installed_package(signed_in, world):
    client = signed_in("viewer")
    html = client.get(f"/dashboard/sensors/{world.sensors['north']}").text
    url = re.search(r'<script src="(/dashboard/vendor/plotly-[^"]+\.min\.js)"', html).group(1)
    bundle = client.get(url)
    assert bundle.status_code == 200 and bundle.mimetype == "text/javascript"
    assert b"plotly" in bundle.data[:2000].lower() and len(bundle.data) > 1_000_000
    assert "max-age=31536000" in bundle.headers["Cache-Control"]


def test_the_json_api_needs_no_csrf_token(app, world):
    response = app.test_client().post(
        "/api/v1/auth/token", json={"email": "user@north.example", "password": PASSWORD}
    )
    assert response.status_code == 201


def basic(email: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()}


def test_only_admins_signed_in_to_the_dashboard_reach_the_job_queues(signed_in, redis):
    assert signed_in("viewer").get("/rq/").status_code == 403
    assert signed_in("account-admin").get("/rq/").status_code == 403
    assert signed_in("admin").get("/rq/").status_code == 200
    assert signed_in("admin").get("/rq/0/data/queues.json").status_code == 200


def test_signed_out_browsers_still_get_the_basic_prompt_at_rq(app, world, redis):
    response = app.test_client().get("/rq/")
    assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"]


def test_requests_another_site_makes_to_the_job_queues_are_refused(app, world, redis):
    client = app.test_client()
    action = "/rq/requeue/forecasting"  # requeues failed jobs, on POST and on GET
    admin = basic("admin@north.example")
    cross = {**admin, "Sec-Fetch-Site": "cross-site"}
    assert client.post(action, headers=cross).status_code == 403
    assert client.get(action, headers={**cross, "Sec-Fetch-Mode": "no-cors"}).status_code == 403
    other_origin = client.post(action, headers={**admin, "Origin": "https://evil.example"})
    assert other_origin.status_code == 403
    same_site = {**admin, "Sec-Fetch-Site": "same-origin"}
    assert client.post(action, headers=same_site).status_code == 200
    assert client.post(action, headers=admin).status_code == 200  # a script, not a browser
    link = {**cross, "Sec-Fetch-Mode": "navigate"}
    assert client.get("/rq/", headers=link).status_code == 200  # a link from elsewhere


def test_a_dashboard_session_is_no_key_to_the_api(signed_in, world):
    client = signed_in("admin")
    assert client.get("/api/v1/sensors").status_code == 401


def test_a_login_page_from_another_session_does_not_sign_in(app, world):
    token = csrf_token(app.test_client().get("/dashboard/login").text)
    client = app.test_client()
    client.get("/dashboard/login")
    response = client.post(
        "/dashboard/login",
        data={"email": "user@north.example", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 400
    assert sign_in(client, "user@north.example").status_code == 302
