"""flask jobs ...: look at and manage the job queues from a console."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from rq.exceptions import NoSuchJobError
from rq.job import Job

from bvp.forecasting.jobs import describe_job, fetch_jobs, recent_job_ids
from bvp.queues import QUEUE_NAMES, get_queue, redis_connection

jobs = AppGroup("jobs", help="Job queues (rq on Redis).")

QUEUE = click.Choice(QUEUE_NAMES)


def _connection():
    return redis_connection(current_app.config["REDIS_URL"])


@jobs.command("list")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
@click.option("--status", help="Only jobs in this state, e.g. failed, queued, finished.")
@click.option("--limit", default=50, show_default=True)
def list_jobs(queues: tuple[str, ...], status: str | None, limit: int) -> None:
    """Recent jobs: waiting, running, scheduled, failed and finished."""
    connection = _connection()
    for name in queues or QUEUE_NAMES:
        queue = get_queue(connection, name)
        click.echo(
            f"{name}: {queue.count} waiting, {queue.started_job_registry.count} running, "
            f"{queue.failed_job_registry.count} failed, {queue.finished_job_registry.count} done"
        )
    shown = 0
    for job in fetch_jobs(connection, recent_job_ids(connection, queues or QUEUE_NAMES)):
        info = describe_job(job)
        if status and info["status"] != status:
            continue
        error = f"  {info['error']}" if info["error"] else ""
        click.echo(f"  {info['status']:<9} {info['id']}{error}")
        shown += 1
        if shown >= limit:
            break


@jobs.command("show")
@click.argument("job_id")
def show_job(job_id: str) -> None:
    """One job: its status, times, result or error (with the traceback)."""
    try:
        job = Job.fetch(job_id, connection=_connection())
    except NoSuchJobError:
        raise click.ClickException(f"There is no job {job_id!r}.") from None
    for key, value in describe_job(job).items():
        click.echo(f"{key:>13}: {value}")
    result = job.latest_result()
    if result is not None and result.exc_string:
        click.echo(result.exc_string)


@jobs.command("requeue-failed")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
def requeue_failed(queues: tuple[str, ...]) -> None:
    """Put failed jobs back on their queue."""
    connection = _connection()
    total = 0
    for name in queues or QUEUE_NAMES:
        registry = get_queue(connection, name).failed_job_registry
        for job_id in registry.get_job_ids():
            registry.requeue(job_id)
            total += 1
    click.echo(f"requeued {total} failed jobs")


@jobs.command("clear")
@click.option("--queue", "queues", multiple=True, type=QUEUE, help="Default: all queues.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(queues: tuple[str, ...], yes: bool) -> None:
    """Drop the jobs waiting on queues (running jobs go on)."""
    names = list(queues or QUEUE_NAMES)
    if not yes:
        click.confirm(f"Drop every waiting job on {', '.join(names)}?", abort=True)
    connection = _connection()
    dropped = sum(get_queue(connection, name).empty() for name in names)
    click.echo(f"dropped {dropped} waiting {'job' if dropped == 1 else 'jobs'}")
