"""BVP's HTTP API (JSON, under /api/v1), documented at /api/v1/openapi.json."""

from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from flask_smorest import Api

from bvp import __version__
from bvp.api.json import OrjsonProvider

api = Api()


def register_api(app: Flask) -> None:
    from bvp.api.assets import assets
    from bvp.api.beliefs import beliefs
    from bvp.api.clients import clients
    from bvp.api.docs import ASSETS as DOCS_ASSETS
    from bvp.api.docs import docs_assets
    from bvp.api.errors import ErrorSchema, register_error_handlers
    from bvp.api.flexmeasures import ForecastJobId, fm, fm_root
    from bvp.api.health import health
    from bvp.api.jobs import jobs
    from bvp.api.metrics import metrics
    from bvp.api.model_choice import choice
    from bvp.api.sensor_data import sensor_data
    from bvp.api.sensors import sensors
    from bvp.api.storable import refuse_unstorable_text
    from bvp.api.tokens import tokens
    from bvp.api.users import users
    from bvp.limits import init_limits, limiter

    app.url_map.converters["forecast_job"] = ForecastJobId
    app.json = OrjsonProvider(app)
    app.config.update(
        API_TITLE="BVP",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,  # served from the installed package, no CDN
    )
    Api.ERROR_SCHEMA = ErrorSchema
    api.init_app(
        app,
        spec_kwargs={
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    "hawk": {
                        "type": "apiKey",
                        "in": "header",
                        "name": "Authorization",
                        "description": "Hawk request signing (client id and key from "
                        "POST /api/v1/clients), e.g. with the mohawk library.",
                    },
                }
            },
            "security": [{"bearerAuth": []}, {"hawk": []}],
        },
    )
    api.register_converter(
        ForecastJobId, lambda _: {"type": "string", "pattern": ForecastJobId.regex}
    )
    init_limits(app)
    limiter.exempt(health)
    for blueprint in (
        health,
        tokens,
        clients,
        users,
        assets,
        sensors,
        sensor_data,
        jobs,
        choice,
        beliefs,
        metrics,
        fm_root,
        fm,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_assets)
    limiter.exempt(docs_assets)
    register_error_handlers(app)  # after smorest's, so ours shape every error
    # App-wide, the dashboard's forms and queries included: no NUL reaches PostgreSQL.
    app.before_request(refuse_unstorable_text)


def _schema_name(schema) -> str:
    """Component names: AssetSchema -> Asset; a partial (PATCH) variant -> AssetPatch."""
    name = resolve_schema_cls(schema).__name__.removesuffix("Schema")
    return f"{name}Patch" if getattr(schema, "partial", False) else name
