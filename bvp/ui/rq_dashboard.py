"""rq-dashboard at /rq, for admins only.

An admin signed in to the dashboard is let in by that session; other browsers are sent to
the dashboard's sign-in and back; scripts may send an admin's email and password (Basic
auth) or bearer token. Everyone else gets 401, or 403 when signed in without the role. Requests that
another site's page makes are refused (Basic credentials and cookies travel with them,
and some of rq-dashboard's actions are plain GETs), except following a link to a page.
"""

from __future__ import annotations

import warnings
from urllib.parse import urlsplit

import rq_dashboard
from flask import Flask, Response, current_app, redirect, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user
from rq_dashboard import default_settings
from rq_dashboard.web import setup_rq_connection

from bvp.data.db import Session
from bvp.data.models.accounts import ADMIN, authenticate_password
from bvp.data.models.auth_tokens import bearer_token, user_for_token
from bvp.limits import limiter

_guarded = False


def mount_rq_dashboard(app: Flask) -> None:
    global _guarded
    for key in dir(default_settings):
        if key.isupper():
            app.config.setdefault(key, getattr(default_settings, key))
    app.config["RQ_DASHBOARD_REDIS_URL"] = app.config["REDIS_URL"]
    with warnings.catch_warnings():
        # rq-dashboard reads BVP's own REDIS_HOST/PORT/... settings as its legacy names
        # and warns; it uses RQ_DASHBOARD_REDIS_URL, which BVP sets.
        warnings.filterwarnings("ignore", "Configuration option REDIS_", UserWarning)
        setup_rq_connection(app)
    if not _guarded:  # the blueprint is a module global: guard it once
        rq_dashboard.blueprint.before_request(_admins_only)
        rq_dashboard.blueprint.after_request(_refuse_framing)
        # Basic credentials are password guesses like the sign-in forms': wrong ones count
        # per address against BVP_LOGIN_RATE_LIMIT (an admin's browsing costs nothing).
        limiter.limit(
            lambda: current_app.config["LOGIN_RATE_LIMIT"],
            key_func=get_remote_address,
            override_defaults=False,
            deduct_when=_wrong_basic_credentials,
        )(rq_dashboard.blueprint)
        _guarded = True
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/rq")


def _admins_only() -> Response | None:
    if _from_another_site():
        return Response("Requests from another site cannot act on the job queues.", 403)
    user = _caller()
    if user is None:
        if "Authorization" not in request.headers and request.accept_mimetypes.accept_html:
            # a browser: to the dashboard's sign-in, and back here after it
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        return Response(
            "Sign in as an admin to see the job queues.",
            401,
            {"WWW-Authenticate": 'Basic realm="BVP job queues"'},
        )
    if not user.has_role(ADMIN):
        return Response("The job queues are for admins only.", 403)
    return None


def _refuse_framing(response: Response) -> Response:
    """No other site may show the queues in a frame and lure an admin into clicking their
    buttons (a framed page arrives as a navigation, which _from_another_site lets in)."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _wrong_basic_credentials(response: Response) -> bool:
    auth = request.authorization
    return response.status_code == 401 and auth is not None and auth.type == "basic"


def _caller():
    session = Session()
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return authenticate_password(session, auth.username or "", auth.password or "")
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is not None:
        found = user_for_token(session, token)
        return found[0] if found else None
    if current_user.is_authenticated:  # signed in to the dashboard
        return current_user
    return None


def _from_another_site() -> bool:
    """What the browser says about where the request comes from (Sec-Fetch-Site, else
    Origin on unsafe methods); requests without either are not from a browser page."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        if fetch_site in ("same-origin", "none"):
            return False
        following_a_link = request.method == "GET" and (
            request.headers.get("Sec-Fetch-Mode") == "navigate"
        )
        return not following_a_link
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != request.host
