"""BVP's HTTP API (JSON, under /api/v1)."""

from flask import Flask


def register_api(app: Flask) -> None:
    from bvp.api.health import health

    app.register_blueprint(health, url_prefix="/api/v1")
