"""The dashboard's browser security: session cookie, CSRF on its forms, response headers.

Only the dashboard's forms need CSRF tokens: the JSON API authenticates every request
with a header a browser never adds by itself (bearer token or Hawk), so it is left out.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

from bvp.ui import dashboard

csrf = CSRFProtect()

# Scripts, styles and everything else from this server only; no inline code, no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Same-origin form posts keep their Referer (Flask-WTF checks it over HTTPS).
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_security(app: Flask) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["BVP_ENV"] == "production",
        # CSRF is checked for the dashboard's blueprint only (see protect_forms).
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    csrf.init_app(app)


@dashboard.before_request
def protect_forms() -> None:
    """Every POST to the dashboard carries the session's CSRF token (400 otherwise)."""
    csrf.protect()  # returns at once for GET/HEAD/OPTIONS


@dashboard.after_request
def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # pages show account data
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
