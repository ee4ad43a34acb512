"""Browser-facing pages: the dashboard under /dashboard, and rq-dashboard at /rq for admins.

The dashboard is server-rendered (Jinja) with plotly charts built here and drawn by the
plotly.js that ships inside the plotly package, so no page needs anything but this
server. It signs in the API's users (Flask-Login, a session cookie) and shows each user
only their account's things, like the API does.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, url_for

URL_PREFIX = "/dashboard"

dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix=URL_PREFIX,
    template_folder="templates",
    static_folder="static",
)


def register_dashboard(app: Flask) -> None:
    # The page modules attach their routes to the blueprint when first imported.
    from bvp.ui import (  # noqa: F401
        auth,
        errors,
        ingestion,
        jobs,
        metrics,
        security,
        sensor_actions,
        sensors,
        vendor,
    )
    from bvp.ui.formatting import register_filters

    security.init_security(app)
    auth.init_login(app)
    register_filters(app)
    app.register_blueprint(dashboard)
    # The root and the dashboard's own address (which the demo prints) open the sensors.
    for rule, name in (("/", "index"), (URL_PREFIX, "dashboard_home")):
        app.add_url_rule(rule, name, lambda: redirect(url_for("dashboard.sensors")))
