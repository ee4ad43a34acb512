"""Hawk request signing for machine clients (mohawk), with replay protection.

A signed request carries the client id, a timestamp, a nonce and a MAC over method,
URL and body. It is refused when the MAC is wrong, the timestamp is more than a minute
off, or the (client, nonce, timestamp) was seen before: nonces are remembered in Redis
for the length of the timestamp window. If Redis cannot be reached, Hawk requests are
refused (503) rather than accepted without replay protection.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from flask_smorest import abort
from mohawk import Receiver
from mohawk.exc import AlreadyProcessed, HawkFail, TokenExpired
from redis.exceptions import RedisError

from bvp.data.db import Session
from bvp.data.models import User
from bvp.data.models.api_clients import active_client, client_key
from bvp.queues import redis_connection

TIMESTAMP_SKEW_SECONDS = 60
# mohawk logs every signed request's body at DEBUG (passwords of users made or changed
# through Hawk among them): keep it quiet so secrets stay out of the logs.
logging.getLogger("mohawk").setLevel(logging.INFO)


def user_for_hawk(authorization: str) -> User:
    """The user behind a valid, fresh, never-seen Hawk signature; else 401 (or 503)."""
    secret = current_app.config["SECRET_KEY"]
    clients = {}

    def credentials(client_id: str) -> dict:
        client = active_client(Session(), client_id)
        if client is None:
            raise LookupError(client_id)
        clients[client_id] = client
        return {"id": client_id, "key": client_key(client, secret), "algorithm": "sha256"}

    try:
        receiver = Receiver(
            credentials,
            authorization,
            request.url,
            request.method,
            content=request.get_data(cache=True),
            content_type=request.headers.get("Content-Type", ""),
            seen_nonce=_seen_nonce,
            timestamp_skew_in_seconds=TIMESTAMP_SKEW_SECONDS,
        )
    except AlreadyProcessed:
        abort(401, message="This Hawk nonce was used before: a replayed request is refused.")
    except TokenExpired:
        abort(401, message="The Hawk timestamp is outside the allowed window; check your clock.")
    except HawkFail as error:
        abort(401, message=f"Hawk signature refused: {type(error).__name__}.")
    except RedisError:
        abort(503, message="Replay protection is unavailable; try again shortly.")
    return clients[receiver.parsed_header["id"]].user


def _seen_nonce(client_id: str, nonce: str, timestamp: str) -> bool:
    key = f"bvp:hawk:nonce:{client_id}:{timestamp}:{nonce}"
    connection = redis_connection(current_app.config["REDIS_URL"])
    first_time = connection.set(key, 1, nx=True, ex=2 * TIMESTAMP_SKEW_SECONDS + 5)
    return not first_time
