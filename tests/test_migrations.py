"""The migrations build exactly the models' schema, and go down and up again."""

import psycopg2
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url

from bvp.app import alembic_config
from bvp.data.db import Base
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
