"""The API's interactive docs (Swagger UI) with their browser code served from the
installed ``swagger-ui-bundle`` package: the docs work offline and ask no CDN for
anything. The page itself is flask-smorest's, at /api/v1/docs."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/api/v1/docs/assets/"
YEAR = 365 * 24 * 3600

docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get(f"{ASSETS}<path:name>")
def swagger_ui_asset(name: str):
    """Swagger UI's scripts and styles, as the package ships them (404 for anything else)."""
    return send_from_directory(swagger_ui_path, name, max_age=YEAR)


@docs_assets.get("/favicon.ico")
def favicon():
    """What browsers ask every page's host for (the docs page names no icon)."""
    return send_from_directory(swagger_ui_path, "favicon-32x32.png", max_age=YEAR)
