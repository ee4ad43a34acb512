"""Database commands: flask db_create, db_populate, db_depopulate, db_partitions.

(`flask db upgrade|downgrade|current|history` come from Flask-Migrate.)
"""

from __future__ import annotations

from datetime import UTC

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import make_url

from bvp.config import app_settings
from bvp.data.db import Session, ensure_database_exists
from bvp.data.models.accounts import find_user_by_email
from bvp.data.partitions import list_partitions
from bvp.data.populate import (
    depopulate_beliefs,
    depopulate_structure,
    populate_sample_data,
    populate_structure,
    sample_sensor_ids,
)
from bvp.data.transactional import transactional
from bvp.data.utc import iso_duration, parse_duration
from bvp.forecasting.outbox import PendingJobs, enqueue_after_commit
from bvp.forecasting.pipeline import forecast_origins, make_forecast


@click.command("db_create")
@with_appcontext
def db_create() -> None:
    """Create the configured database if the server does not have it yet."""
    url = current_app.config["DATABASE_URL"]
    created = ensure_database_exists(url)
    name = make_url(url).database  # not the socket directory of a unix-socket URL
    click.echo(f"Database {name} {'created' if created else 'already exists'}.")


@click.command("db_partitions")
@with_appcontext
def db_partitions() -> None:
    """List timed_belief's partitions: the months they hold, rows (estimated), size."""
    partitions = list_partitions(Session().connection())
    Session.remove()
    if not partitions:
        click.echo("No partitions yet: one is made per month when its first belief arrives.")
        return
    click.echo(f"{'partition':34} {'from (UTC)':16} {'to (UTC)':16} {'rows':>12} {'MB':>9}")
    for p in partitions:
        lower = "-" if p.lower.year < 2 else f"{p.lower.astimezone(UTC):%Y-%m-%d %H:%M}"
        upper = f"{p.upper.astimezone(UTC):%Y-%m-%d %H:%M}"
        click.echo(f"{p.name:34} {lower:16} {upper:16} {p.rows:>12,} {p.bytes / 1e6:>9.1f}")


@click.command("db_populate")
@click.option("--structure", is_flag=True, help="Roles, demo account, admin user, assets, sensors.")
@click.option("--data", is_flag=True, help="Real sample measurements (NREL SERF, 2016).")
@click.option(
    "--hold-back",
    default="PT0S",
    show_default=True,
    help="Leave the sample's last stretch out (ISO 8601 duration), e.g. P1D to post it later.",
)
@click.option("--forecasts", is_flag=True, help="Forecasts for the sample sensors, made now.")
@click.option("--admin-email", default="admin@bvp.example", show_default=True)
@click.option(
    "--admin-password",
    envvar="BVP_ADMIN_PASSWORD",
    help="Password for a new admin user (or BVP_ADMIN_PASSWORD); prompted if needed.",
)
@with_appcontext
def db_populate(structure, data, hold_back, forecasts, admin_email, admin_password) -> None:
    """Put the demo structure, sample data and/or forecasts in; safe to run again."""
    if not (structure or data or forecasts):
        raise click.UsageError("Say what to populate: --structure, --data and/or --forecasts.")
    settings = app_settings().jobs
    owed: list[PendingJobs] = []
    with transactional() as session:
        if structure:
            if admin_password is None and find_user_by_email(session, admin_email) is None:
                admin_password = click.prompt(
                    f"Password for new admin user {admin_email}",
                    hide_input=True,
                    confirmation_prompt=True,
                )
            report = populate_structure(session, admin_email, admin_password)
            for line in report.created:
                click.echo(f"created  {line}")
            if report.existing:
                items = "item" if len(report.existing) == 1 else "items"
                click.echo(
                    f"{len(report.existing)} structure {items} already existed: "
                    + ", ".join(report.existing)
                )
        sensors = _sample_sensors(session)
        if data:
            held_back = parse_duration(hold_back, zero=True)
            changed = []
            for key, result in populate_sample_data(session, sensors, held_back).items():
                click.echo(
                    f"{key}: {result.created} beliefs created, {result.updated} updated, "
                    f"{result.unchanged} unchanged"
                )
                if result.created or result.updated:
                    changed.append(sensors[key])
            # New data: forecasts are owed with it, and queued once it is committed.
            owed = [enqueue_after_commit(session, sensor_id, settings) for sensor_id in changed]
        if forecasts:
            for sensor_id, origin in forecast_origins(session, list(sensors.values())).items():
                if origin is None:
                    continue
                for horizon in settings.horizons:
                    result = make_forecast(session, sensor_id, origin, horizon)
                    click.echo(
                        f"sensor {sensor_id}: {iso_duration(horizon)} ahead from "
                        f"{origin:%Y-%m-%dT%H:%MZ}, "
                        f"{result.created} forecasts created, {result.updated} updated"
                    )
    _report_jobs(owed)


@click.command("db_depopulate")
@click.option("--structure", is_flag=True, help="Everything: accounts, users, sensors, data.")
@click.option("--data", is_flag=True, help="Measurements (beliefs not made by a forecaster).")
@click.option("--forecasts", is_flag=True, help="Forecasts (beliefs made by a forecaster).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def db_depopulate(structure, data, forecasts, yes) -> None:
    """Take demo structure, data and/or forecasts out again."""
    if not (structure or data or forecasts):
        raise click.UsageError("Say what to remove: --structure, --data and/or --forecasts.")
    what = [
        n for n, on in (("forecasts", forecasts), ("data", data), ("structure", structure)) if on
    ]
    if not yes:
        click.confirm(f"Delete {' and '.join(what)} from {_database_name()}?", abort=True)
    with transactional() as session:
        if forecasts:
            click.echo(f"deleted {depopulate_beliefs(session, forecasts=True)} forecast beliefs")
        if data:
            click.echo(f"deleted {depopulate_beliefs(session, forecasts=False)} measured beliefs")
        if structure:
            for table, count in depopulate_structure(session).items():
                click.echo(f"deleted {count} rows from {table} (and what depends on them)")


def _sample_sensors(session) -> dict[str, int]:
    sensors = sample_sensor_ids(session)
    if not sensors:
        raise click.ClickException("No sample sensors yet: run `flask db_populate --structure`.")
    return sensors


def _report_jobs(owed: list[PendingJobs]) -> None:
    job_ids = list(dict.fromkeys(job_id for pending in owed for job_id in pending.job_ids))
    if job_ids:
        click.echo(f"queued forecasting jobs: {', '.join(job_ids)}")
    if any(pending.redis_unreachable for pending in owed):
        click.echo(
            "Data stored, but Redis is unreachable: the forecasts are owed in the outbox and "
            "queued by the next worker (or `flask forecasts enqueue-pending`).",
            err=True,
        )


def _database_name() -> str:
    return current_app.config["DATABASE_URL"].rsplit("/", 1)[-1]
