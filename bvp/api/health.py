"""GET /api/v1/health: is the database reachable, is Redis reachable."""

from __future__ import annotations

from flask import current_app, jsonify
from flask_smorest import Blueprint
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bvp.data.db import Session
from bvp.queues import redis_connection

health = Blueprint("health", __name__, url_prefix="/api/v1", description="Health")


@health.get("/health")
@health.doc(security=[])
def get_health():
    status = {"database": "ok", "redis": "ok"}
    try:
        Session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        status["database"] = "unreachable"
    try:
        redis_connection(current_app.config["REDIS_URL"]).ping()
    except RedisError:
        status["redis"] = "unreachable"
    healthy = status["database"] == "ok"
    return jsonify(status=("ok" if healthy else "degraded"), **status), (200 if healthy else 503)
