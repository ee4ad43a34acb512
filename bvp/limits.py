"""Too many requests from one client -> 429 (flask-limiter), counted in Redis.

A client is its bearer token or Hawk id when it sends one, else its address; the login
routes count per address (BVP_LOGIN_RATE_LIMIT). Limits are read per request, so
operators (and tests) can change them at runtime.
"""

from __future__ import annotations

import hashlib
import re

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

_HAWK_ID = re.compile(r'\bid="([^"]+)"')


def client_key() -> str:
    """The token, the Hawk client id, or else the address the request came from."""
    authorization = request.headers.get("Authorization", "").strip()
    if authorization.lower().startswith("hawk "):
        found = _HAWK_ID.search(authorization)  # every signed request differs; the id not
        return "hawk:" + (found.group(1) if found else get_remote_address())
    if authorization:
        return "auth:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return "addr:" + get_remote_address()


def login_limit():
    """Password guessing is limited per address, whatever headers come with it."""
    return limiter.limit(
        lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=get_remote_address
    )


limiter = Limiter(
    key_func=client_key,
    default_limits=[lambda: current_app.config["RATE_LIMIT"]],
    headers_enabled=True,
    in_memory_fallback_enabled=True,  # Redis down: limit per process rather than not at all
)


def init_limits(app: Flask) -> None:
    redis_url = app.config["REDIS_URL"]
    if redis_url.startswith("unix://"):  # the limits library names Redis on a socket so
        redis_url = "redis+" + redis_url
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config["RATE_LIMIT_STORAGE_URI"] or redis_url
    )
    limiter.init_app(app)
