"""flask run_forecasting_worker: consume forecasting jobs from Redis."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bvp.forecasting.jobs import JobSettings
from bvp.forecasting.workers import run_in_background, run_worker
from bvp.queues import QUEUE_NAMES


@click.command("run_forecasting_worker")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queue(s) to listen on, in priority order (repeatable). "
    "Default: forecasting, then model-selection.",
)
@click.option("--name", default=None, help="Worker name, unique per Redis (default: generated).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@with_appcontext
def run_forecasting_worker(queues: tuple[str, ...], name: str | None, burst: bool) -> None:
    """Run an rq worker; start as many as you like, on as many machines as you like."""
    queues = list(queues) or [current_app.config["FORECAST_QUEUE"], "model-selection"]
    url = current_app.config["REDIS_URL"]
    priority = run_in_background(current_app.config["WORKER_NICENESS"])  # horses inherit it
    click.echo(
        f"Worker {name or '(unnamed)'} listening on {', '.join(queues)} at {_safe(url)}; "
        f"CPU priority: {priority}"
    )
    run_worker(
        JobSettings.from_config(current_app.config),
        queues,
        name=name,
        burst=burst,
        maintenance_seconds=current_app.config["WORKER_MAINTENANCE_SECONDS"],
        heartbeat_seconds=current_app.config["JOB_HEARTBEAT_SECONDS"],
        model_threads=current_app.config["MODEL_THREADS"],
    )


def _safe(url: str) -> str:
    from redis.connection import parse_url

    parts = parse_url(url)
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 6379)}/{parts.get('db', 0)}"
