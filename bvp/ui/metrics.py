"""The metrics page: one month's data quality, forecast accuracy and queue health, and a
chart of forecast accuracy over all months (the user's account; all for admins)."""

from __future__ import annotations

from flask import render_template, request

from bvp.data.transactional import transactional
from bvp.metrics.reports import accuracy_history, available_months, monthly_report
from bvp.ui import dashboard
from bvp.ui.auth import account_scope
from bvp.ui.charts import accuracy_figure, figure_json
from bvp.ui.forms import MonthForm


@dashboard.get("/metrics")
def metrics():
    scope = account_scope()
    with transactional() as session:
        months = available_months(session, scope)
        form = MonthForm(request.args)
        form.month.choices = months
        month = form.month.data or (months[0] if months else None)
        if month is not None and month not in months:
            return _page(form, months, None, None, None, missing=month), 404
        report = monthly_report(session, scope, month) if month else None
        history = accuracy_history(session, scope)
    figure = figure_json(accuracy_figure(history)) if history else None
    return _page(form, months, month, report, figure)


def _page(form, months, month, report, figure, missing=None):
    return render_template(
        "metrics.html",
        title=f"Metrics {month}" if month else "Metrics",
        form=form,
        months=months,
        month=month,
        report=report,
        figure=figure,
        missing=missing,
    )
