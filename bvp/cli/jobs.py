"""flask jobs ...: look at and manage the job queues from a console."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from bvp.config import app_settings
from bvp.forecasting.job_status import job_status, jobs_by_id, recent_job_ids
from bvp.queues import QUEUE_NAMES, drop_waiting, queue_depths, redis_connection
from bvp.queues import requeue_failed as requeue_failed_jobs

jobs = AppGroup("jobs", help="Job queues (rq on Redis).")

QUEUE = click.Choice(QUEUE_NAMES)


def _connection():
    return redis_connection(app_settings().jobs.redis_url)


@jobs.command("list")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
@click.option("--status", help="Only jobs in this state, e.g. failed, queued, finished.")
@click.option("--limit", default=50, show_default=True)
def list_jobs(queues: tuple[str, ...], status: str | None, limit: int) -> None:
    """Recent jobs: waiting, running, scheduled, failed and finished."""
    connection = _connection()
    for depth in queue_depths(connection, queues or QUEUE_NAMES):
        click.echo(
            f"{depth['name']}: {depth['waiting']} waiting, {depth['running']} running, "
            f"{depth['failed']} failed, {depth['finished']} done"
        )
    shown = 0
    for info in jobs_by_id(connection, recent_job_ids(connection, queues or QUEUE_NAMES)):
        if status and info.status != status:
            continue
        error = f"  {info.error}" if info.error else ""
        click.echo(f"  {info.status:<9} {info.id}{error}")
        shown += 1
        if shown >= limit:
            break


@jobs.command("show")
@click.argument("job_id")
def show_job(job_id: str) -> None:
    """One job: its status, times, result or error (with the traceback)."""
    info = job_status(_connection(), job_id)
    if info is None:
        raise click.ClickException(f"There is no job {job_id!r}.")
    for key, value in info.as_dict().items():
        click.echo(f"{key:>13}: {value}")
    if info.traceback:
        click.echo(info.traceback)


@jobs.command("requeue-failed")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
def requeue_failed(queues: tuple[str, ...]) -> None:
    """Put failed jobs back on their queue."""
    total = requeue_failed_jobs(_connection(), queues or QUEUE_NAMES)
    click.echo(f"requeued {total} failed jobs")


@jobs.command("clear")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(queues: tuple[str, ...], yes: bool) -> None:
    """Drop the jobs waiting on queues (running jobs go on)."""
    names = list(queues or QUEUE_NAMES)
    if not yes:
        click.confirm(f"Drop every waiting job on {', '.join(names)}?", abort=True)
    dropped = drop_waiting(_connection(), names)
    click.echo(f"dropped {dropped} waiting {'job' if dropped == 1 else 'jobs'}")
