"""The migrations build exactly the models' schema, and go down and up again."""

from datetime import UTC, datetime

import pandas as pd
import psycopg2
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.orm import Session as OrmSession

from bvp.app import alembic_config
from bvp.data.db import Base
from bvp.data.models.sensors import REGRESSOR_INDEXES
from bvp.data.partitions import ensure_partitions, list_partitions
from tests.conftest import psycopg2_dsn


@pytest.fixture
def empty_database(app):
    url = make_url(app.config["DATABASE_URL"])
    name = f"{url.database}_migrations"
    maintenance = psycopg2.connect(psycopg2_dsn(str(url.set(database="postgres"))))
    maintenance.autocommit = True
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(url.set(database=name))
    yield engine
    engine.dispose()
    with maintenance.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    maintenance.close()


def test_upgrade_matches_models_then_downgrade_and_upgrade_again(empty_database):
    with empty_database.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with empty_database.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        # (the earthdistance index is made by migration 0012 only where the server has the
        # extension, and the regressor lists' expression indexes by 0015, so the models do
        # not declare them; migrations/env.py leaves them out too)
        made_by_migrations_only = ("ix_asset_earth", *REGRESSOR_INDEXES)
        differences = [
            d
            for d in differences
            if d[:1] != ("remove_index",) or d[1].name not in made_by_migrations_only
        ]
        assert differences == []
        assert set(inspect(connection).get_table_names()) == set(Base.metadata.tables) | {
            "alembic_version"
        }
    with empty_database.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    with empty_database.connect() as connection:
        assert inspect(connection).get_table_names() == ["alembic_version"]
    with empty_database.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with empty_database.connect() as connection:
        assert "timed_belief" in inspect(connection).get_table_names()


def test_partitioning_keeps_beliefs_stored_before_it_and_downgrading_keeps_them_all(
    empty_database,
):
    november = "SELECT 1, '2026-11-{day} 12:00Z', '2026-12-01Z', 1, 0.5, {value}"
    with empty_database.begin() as connection:
        command.upgrade(alembic_config(connection), "0009")
        for day, value in ((1, 1.0), (30, 2.0)):
            connection.exec_driver_sql(
                "INSERT INTO timed_belief (sensor_id, event_start, belief_time, source_id, "
                f"cumulative_probability, event_value) {november.format(day=day, value=value)}"
            )
    with empty_database.begin() as connection:
        command.upgrade(alembic_config(connection), "head")

    with OrmSession(empty_database) as session:
        # The old table is now the partition for everything before December 2026 ...
        assert [(p.name, p.upper) for p in list_partitions(session.connection())] == [
            ("timed_belief_before_y2026m12", datetime(2026, 12, 1, tzinfo=UTC))
        ]
        # ... so a November belief goes there, and December gets a partition of its own.
        events = pd.DatetimeIndex(["2026-11-15T00:00Z", "2026-12-15T00:00Z"])
        assert ensure_partitions(session, events.values) == ["timed_belief_y2026m12"]
        session.execute(
            text(
                "INSERT INTO timed_belief (sensor_id, event_start, belief_time, source_id, "
                "event_value) SELECT 1, e, '2027-01-01Z', 1, 3.0 FROM unnest(CAST(:e AS "
                "timestamptz[])) e"
            ),
            {"e": list(events.to_pydatetime())},
        )
        session.commit()
        where = dict(
            session.execute(
                text("SELECT tableoid::regclass::text, count(*) FROM timed_belief GROUP BY 1")
            ).all()
        )
        assert where == {"timed_belief_before_y2026m12": 3, "timed_belief_y2026m12": 1}

    with empty_database.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
    with empty_database.connect() as connection:
        values = connection.exec_driver_sql(
            "SELECT event_value FROM timed_belief ORDER BY event_start"
        ).scalars()
        assert list(values) == [1.0, 3.0, 2.0, 3.0]
        assert "timed_belief_y2026m12" not in inspect(connection).get_table_names()
