"""flask metrics monthly: compute, store and export the monthly metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from bvp.config import app_settings
from bvp.data.models import Sensor
from bvp.data.transactional import transactional
from bvp.metrics.export import FORMATS, write_report
from bvp.metrics.monthly import make_monthly_metrics
from bvp.metrics.months import date_anchor
from bvp.metrics.reports import monthly_report

metrics = AppGroup("metrics", help="Monthly metrics: data quality, forecast accuracy, queues.")


@metrics.command("monthly")
@click.option(
    "--date-anchor",
    "anchor_text",
    help="'Now' for this report, ISO 8601 with offset (default: BVP_DATE_ANCHOR, else now). "
    "The report covers the last full calendar month before it.",
)
@click.option("--utc", "in_utc", is_flag=True, help="Calendar months in UTC, not per account.")
@click.option("--output", type=click.Path(file_okay=False), help="Write the report here too.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
def monthly(anchor_text: str | None, in_utc: bool, output: str | None, fmt: str) -> None:
    """Compute the last full month's metrics and store them (replacing an earlier run)."""
    config = current_app.config
    try:
        anchor = date_anchor(anchor_text or config["DATE_ANCHOR"])
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--date-anchor") from None
    horizons = list(app_settings().jobs.horizons)
    with transactional() as session:
        total = session.query(Sensor).count()
        with tqdm(total=total, unit="sensor", desc="metrics", file=sys.stderr, disable=None) as bar:
            run = make_monthly_metrics(
                session, anchor, horizons, in_utc=in_utc, on_sensor=lambda _: bar.update()
            )
    months = sorted({m.label for m in run.months.values()} | {run.queue_month.label})
    click.echo(
        f"anchor {anchor.isoformat()}: metrics for {', '.join(months)} "
        f"({run.sensors} sensors, {run.accuracy_rows} accuracy rows, {run.queue_rows} queues)"
    )
    if output:
        with transactional() as session:
            for month in months:
                report = monthly_report(session, None, month)
                for path in write_report(report, month, Path(output), fmt):
                    click.echo(f"wrote {path}")
