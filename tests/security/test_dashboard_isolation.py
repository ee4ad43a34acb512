"""Account isolation through every dashboard page, and /rq for admins only.

Every route of the app outside the API must be classified here (DASHBOARD, or the job
queues under /rq, which are tried route by route), so a new page fails
``test_every_page_is_classified`` until someone writes down who may see it. The callers
are the dashboard sessions of "north"'s users (and a browser not signed in); "own"
targets north's sensor, "other" south's.

The rules, from README (Dashboard) and bvp/ui/auth.py: a browser not signed in is sent to
the sign-in page; everyone sees their own account's things and admins every account's;
another account's sensor is not found (404); no page shows another account's things to
non-admins; every form post needs the session's CSRF token; /rq lets in admins only.
Every dashboard response carries the security headers (bvp/ui/security.py).
"""

from __future__ import annotations

import re

import pytest

from bvp.ui.security import SECURITY_HEADERS
from bvp.ui.vendor import PLOTLY_VERSION
from tests.ui.conftest import csrf_token, sign_in

ROLES = ("admin", "account-admin", "user", "viewer", "anonymous")
LOGIN = "to sign-in"  # a redirect to the sign-in page, coming back here afterwards
HIDDEN, SHOWN = "hidden", "shown"  # 200, and another account's things absent / present
SIGNED_IN_ONLY = (200, 200, 200, 200, LOGIN)
PUBLIC = (200, 200, 200, 200, 200)
OTHER_ACCOUNT = "south"  # every thing of south's is named so (tests/ui/conftest.py)

#   rule -> (method, url of north's ("own") or south's ("other") things, outcomes per scope)
DASHBOARD = {
    ("GET", "/"): ("/", {"own": (302,) * 5}),  # to the sensors page
    ("GET", "/dashboard"): ("/dashboard", {"own": (302,) * 5}),  # the demo prints it
    ("GET", "/favicon.ico"): ("/favicon.ico", {"own": PUBLIC}),  # browsers ask every host
    # Flask's own static route; BVP has no app-wide static folder.
    ("GET", "/static/<path:filename>"): ("/static/anything.css", {"own": (404,) * 5}),
    ("GET", "/dashboard/static/<path:filename>"): (
        "/dashboard/static/dashboard.css",
        {"own": PUBLIC},
    ),
    ("GET", "/dashboard/vendor/plotly-<version>.min.js"): (
        f"/dashboard/vendor/plotly-{PLOTLY_VERSION}.min.js",
        {"own": PUBLIC},
    ),
    ("GET", "/dashboard/login"): ("/dashboard/login", {"own": (302, 302, 302, 302, 200)}),
    # Posts without the CSRF token; signing in and out with it: tests/ui/test_auth.py.
    ("POST", "/dashboard/login"): ("/dashboard/login", {"own": (400,) * 5}),
    ("POST", "/dashboard/logout"): ("/dashboard/logout", {"own": (400,) * 5}),
    ("GET", "/dashboard/sensors"): (
        "/dashboard/sensors",
        {"own": SIGNED_IN_ONLY, "other": (SHOWN, HIDDEN, HIDDEN, HIDDEN, LOGIN)},
    ),
    ("GET", "/dashboard/sensors/<int:sensor_id>"): (
        "/dashboard/sensors/{sensor}",
        {"own": SIGNED_IN_ONLY, "other": (200, 404, 404, 404, LOGIN)},
    ),
    # A sensor page's actions; posts without the CSRF token here, with it (and who may
    # upload, forecast, choose): tests/ui/test_sensor_actions.py.
    ("POST", "/dashboard/sensors/<int:sensor_id>/upload"): (
        "/dashboard/sensors/{sensor}/upload",
        {"own": (400,) * 5, "other": (400,) * 5},
    ),
    ("POST", "/dashboard/sensors/<int:sensor_id>/forecast"): (
        "/dashboard/sensors/{sensor}/forecast",
        {"own": (400,) * 5, "other": (400,) * 5},
    ),
    ("POST", "/dashboard/sensors/<int:sensor_id>/model-selection"): (
        "/dashboard/sensors/{sensor}/model-selection",
        {"own": (400,) * 5, "other": (400,) * 5},
    ),
    ("GET", "/dashboard/sensors/<int:sensor_id>/jobs.json"): (
        "/dashboard/sensors/{sensor}/jobs.json",
        {"own": SIGNED_IN_ONLY, "other": (200, 404, 404, 404, LOGIN)},
    ),
    # Failures, sources and metrics of south's: tests/ui/test_pages.py seeds them.
    ("GET", "/dashboard/jobs"): (
        "/dashboard/jobs",
        {"own": SIGNED_IN_ONLY, "other": (200, HIDDEN, HIDDEN, HIDDEN, LOGIN)},
    ),
    ("GET", "/dashboard/ingestion"): (
        "/dashboard/ingestion",
        {"own": SIGNED_IN_ONLY, "other": (200, HIDDEN, HIDDEN, HIDDEN, LOGIN)},
    ),
    ("GET", "/dashboard/metrics"): (
        "/dashboard/metrics",
        {"own": SIGNED_IN_ONLY, "other": (200, HIDDEN, HIDDEN, HIDDEN, LOGIN)},
    ),
}
# /rq: every route refuses everyone but admins (tried below for each route). Admins get
# in: tests/ui/test_security.py::test_only_admins_signed_in_to_the_dashboard_reach_the_job_
# queues and tests/api/test_rq_dashboard.py (Basic credentials and bearer tokens too).
RQ_PREFIX = "/rq/"
RQ_PLACEHOLDERS = {
    "instance_number": "0",
    "job_id": "forecast-s1-h3600-o20240601T000000Z",
    "queue_name": "forecasting",
    "registry_name": "failed",
    "per_page": "8",
    "order": "asc",
    "page": "1",
    "filename": "css/main.css",
}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if not (rule.rule.startswith("/api") or rule.rule == "/healthcheck")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_page_is_classified(app):
    pages = {route for route in app_routes(app) if not route[1].startswith(RQ_PREFIX)}
    assert pages - set(DASHBOARD) == set(), "add these pages to DASHBOARD"
    assert set(DASHBOARD) - pages == set(), "DASHBOARD lists pages the app does not have"


@pytest.fixture
def sessions(app, ui_world):
    """A browser per role: north's users signed in, and one not signed in."""
    browsers = {"anonymous": app.test_client()}
    for role in ROLES[:-1]:
        browsers[role] = app.test_client()
        assert sign_in(browsers[role], ui_world.users["north"][role]).status_code == 302
    return browsers


def test_the_dashboard_matrix(sessions, ui_world):
    wrong = []
    for (method, rule), (url, expect) in DASHBOARD.items():
        for scope, outcomes in expect.items():
            account = "north" if scope == "own" else OTHER_ACCOUNT
            target = url.format(sensor=ui_world.sensors[account])
            for role, expected in zip(ROLES, outcomes, strict=True):
                where = f"{method} {rule}: {role} on {scope}"
                response = sessions[role].open(target, method=method)
                response.close()  # files are sent streamed
                wanted = 302 if expected == LOGIN else expected
                wanted = 200 if expected in (HIDDEN, SHOWN) else wanted
                if response.status_code != wanted:
                    wrong.append(f"{where}: {response.status_code}, expected {wanted}")
                    continue
                if expected == LOGIN and not response.location.startswith("/dashboard/login?"):
                    wrong.append(f"{where}: sent to {response.location}, not to sign in")
                if expected in (HIDDEN, SHOWN):
                    shown = re.search(OTHER_ACCOUNT, response.text, re.IGNORECASE) is not None
                    if shown != (expected == SHOWN):
                        wrong.append(f"{where}: another account's things {expected}? {shown}")
                if rule.startswith("/dashboard/"):
                    missing = {
                        name: value
                        for name, value in SECURITY_HEADERS.items()
                        if response.headers.get(name) != value
                    }
                    if missing:
                        wrong.append(f"{where}: security headers missing: {sorted(missing)}")
    assert not wrong, "\n".join(wrong)


def rq_routes(app) -> list[tuple[str, str]]:
    routes = []
    for method, rule in sorted(app_routes(app)):
        if rule.startswith(RQ_PREFIX):
            url = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", lambda m: RQ_PLACEHOLDERS[m.group(1)], rule)
            routes.append((method, url))
    return routes


def test_every_job_queue_route_refuses_all_but_admins(app, sessions, redis):
    """Every /rq route (the views and the actions that requeue, delete and empty), not just
    its front page: 401 without credentials, 403 for dashboard sessions of non-admins."""
    expected = {"anonymous": 401, "viewer": 403, "user": 403, "account-admin": 403}
    routes = rq_routes(app)
    assert len(routes) > 10  # the listing found rq-dashboard's routes
    wrong = [
        f"{method} {url}: {role} got {status}"
        for method, url in routes
        for role, wanted in expected.items()
        if (status := sessions[role].open(url, method=method, follow_redirects=True).status_code)
        != wanted
    ]
    assert not wrong, "\n".join(wrong)


def test_every_dashboard_form_needs_the_sessions_csrf_token(app, sessions):
    """Enumerated from the url_map, so a new form route is covered the day it appears."""
    foreign_token = csrf_token(app.test_client().get("/dashboard/login").text)
    posts = sorted(
        rule for method, rule in app_routes(app) if method == "POST" and rule.startswith("/dash")
    )
    assert posts  # sign in and sign out, at least
    for rule in posts:
        for token in (None, "forged", foreign_token):
            data = {} if token is None else {"csrf_token": token}
            url = re.sub(r"<int:\w+>", "1", rule)  # the form's check comes before the lookup
            response = sessions["user"].post(url, data=data)
            assert response.status_code == 400, (rule, token, response.status_code)
            assert "form" in response.text.lower(), rule  # the dashboard's own error page


def test_the_job_queues_may_not_be_framed(sessions, redis):
    """rq-dashboard's buttons requeue, delete and empty: another site must not frame them
    (a framed page is a navigation, which /rq lets through from other sites)."""
    response = sessions["admin"].get(
        "/rq/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    )
    assert response.status_code == 200
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", "")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
