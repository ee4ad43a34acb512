"""GET /api/v1/beliefs: every belief (measurements and forecasts) written since, paged.

For a data warehouse loading BVP every night: keep the last ``cursor`` and continue
from it; pages never skip or repeat a belief, even while data is being written.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint

from bvp.api.auth import account_scope, authenticate, not_found
from bvp.api.errors import errors_documented
from bvp.api.schemas import ExportPageSchema, ExportQuerySchema
from bvp.data.belief_export import export_page
from bvp.data.models.sensors import find_sensor
from bvp.data.transactional import transactional

beliefs = Blueprint("beliefs", __name__, url_prefix="/api/v1/beliefs", description="Bulk export")
beliefs.before_request(authenticate)


@beliefs.get("")
@beliefs.arguments(ExportQuerySchema, location="query")
@beliefs.response(200, ExportPageSchema)
@errors_documented(beliefs, {404: "A sensor asked for does not exist (or is not yours)."})
def export(query):
    """Beliefs of your sensors in the order they were written, keyset-paginated."""
    with transactional() as session:
        for sensor_id in query["sensor"]:
            if find_sensor(session, sensor_id, account_scope()) is None:
                not_found("sensor", sensor_id)
        page = export_page(
            session,
            account_id=account_scope(),
            sensor_ids=query["sensor"] or None,
            updated_since=query.get("updated_since"),
            cursor=query.get("cursor"),
            limit=query["limit"],
        )
    next_link = None
    if not page.complete:
        args = {"cursor": page.cursor, "limit": query["limit"], "sensor": query["sensor"]}
        if "updated_since" in query:
            args["updated_since"] = query["updated_since"].isoformat()
        next_link = url_for("beliefs.export", **args)
    return {
        "beliefs": page.beliefs.to_dict("records"),
        "cursor": page.cursor,
        "next": next_link,
    }
