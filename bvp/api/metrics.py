"""GET /api/v1/metrics/monthly: the stored monthly metrics of your account."""

from __future__ import annotations

from flask_smorest import Blueprint, abort

from bvp.api.auth import account_scope, authenticate
from bvp.api.errors import errors_documented
from bvp.api.schemas import MonthlyMetricsQuerySchema, MonthlyMetricsSchema
from bvp.data.transactional import transactional
from bvp.metrics.reports import monthly_report

metrics = Blueprint("metrics", __name__, url_prefix="/api/v1", description="Monthly metrics")
metrics.before_request(authenticate)


@metrics.get("/metrics/monthly")
@metrics.arguments(MonthlyMetricsQuerySchema, location="query")
@metrics.response(200, MonthlyMetricsSchema)
@errors_documented(metrics, {404: "No metrics stored for that month."})
def monthly(args: dict):
    """Data quality per sensor, forecast accuracy per sensor, model and horizon, and queue
    health, for one calendar month (made by `flask metrics monthly`)."""
    month = args["month"]
    with transactional() as session:
        report = monthly_report(session, account_scope(), month)
    if not report["quality"]:
        abort(404, message=f"No metrics for {month}; `flask metrics monthly` makes them.")
    return {"month": month, **report}
