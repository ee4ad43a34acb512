"""`flask ...` commands, grouped per area."""

from flask import Flask


def register_commands(app: Flask) -> None:
    from bvp.cli.database import db_create, db_depopulate, db_partitions, db_populate
    from bvp.cli.embedded import embedded
    from bvp.cli.forecasts import forecasts
    from bvp.cli.ingest import ingest
    from bvp.cli.jobs import jobs
    from bvp.cli.metrics import metrics
    from bvp.cli.users import accounts, users
    from bvp.cli.workers import run_forecasting_worker

    for command in (
        db_create,
        db_populate,
        db_depopulate,
        db_partitions,
        run_forecasting_worker,
        embedded,
        forecasts,
        ingest,
        jobs,
        metrics,
        accounts,
        users,
    ):
        app.cli.add_command(command)
