"""Too many requests from one client -> 429 (flask-limiter), counted in Redis.

A client is its bearer token when it sends one, else its address. The limit is read
per request from BVP_RATE_LIMIT, so operators (and tests) can change it at runtime.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def client_key() -> str:
    authorization = request.headers.get("Authorization", "")
    if authorization:
        return "auth:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return "addr:" + get_remote_address()


limiter = Limiter(
    key_func=client_key,
    default_limits=[lambda: current_app.config["RATE_LIMIT"]],
    headers_enabled=True,
    in_memory_fallback_enabled=True,  # Redis down: limit per process rather than not at all
)


def init_limits(app: Flask) -> None:
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config["RATE_LIMIT_STORAGE_URI"] or app.config["REDIS_URL"]
    )
    limiter.init_app(app)
