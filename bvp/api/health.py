"""GET /healthcheck (and /api/v1/health): is every part BVP needs up? No auth.

200 when the database answers at the migrated schema head and Redis answers; 503
otherwise, naming the part that failed. Workers alive and queue depths are reported
(no worker is a warning, not a failure: data is still stored and jobs wait); a queue
with jobs waiting and no live worker listening on it is named in ``warnings``.
"""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import current_app, jsonify
from flask_smorest import Blueprint
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bvp.data.db import Session, schema_revision
from bvp.queues import queue_status, redis_connection

health = Blueprint("health", __name__, description="Health")


def _head_revision() -> str | None:
    directory = current_app.extensions["migrate"].directory
    config = Config()
    config.set_main_option("script_location", directory)
    return ScriptDirectory.from_config(config).get_current_head()


@health.get("/healthcheck")
@health.get("/api/v1/health")
@health.doc(security=[])
@health.response(200, description="Every part is up.")
@health.alt_response(503, description="A part is down; the body says which.")
def healthcheck():
    """Database (and its schema revision), Redis, workers alive, queue depths."""
    report: dict = {}
    failed = []
    try:
        revision = schema_revision(Session())
        head = _head_revision()
        report["database"] = {"ok": True, "revision": revision, "head": head}
        if revision != head:
            report["database"]["ok"] = False
            failed.append("database migrations (run `flask db upgrade`)")
    except SQLAlchemyError as error:
        report["database"] = {"ok": False, "error": type(error).__name__}
        failed.append("database")
    warnings = []
    try:
        report["redis"] = {
            "ok": True,
            **queue_status(redis_connection(current_app.config["REDIS_URL"])),
        }
        for name in report["redis"]["unserved"]:
            waiting = report["redis"]["queues"][name]
            warnings.append(
                f"{waiting} jobs wait on the {name} queue and no worker serves it: start "
                "one with `flask run_forecasting_worker`"
            )
    except RedisError as error:
        report["redis"] = {"ok": False, "error": type(error).__name__}
        failed.append("redis")
    status = 503 if failed else 200
    body = {"status": "unhealthy" if failed else "healthy", "failed": failed, **report}
    return jsonify(warnings=warnings, **body), status
