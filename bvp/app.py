"""The application factory: configuration, database, migrations, blueprints, CLI."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from alembic.config import Config
from flask import Flask
from flask_migrate import Migrate

from bvp.config import EXTENSION, load_settings
from bvp.data.db import Base, init_engine
from bvp.data.transactional import rollback_unfinished
from bvp.embedded import with_embedded_servers

# The repository's migrations/ (bvp/migrations links to it), inside an installed package
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
migrate = Migrate()


def create_app(environment: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    settings = with_embedded_servers(load_settings(environment, overrides))
    app = Flask("bvp")
    app.config.update(settings.values)
    app.config["BVP_ENV"] = settings.environment
    app.config["BVP_SETTING_ORIGINS"] = settings.origins
    app.extensions[EXTENSION] = settings  # typed and checked once; read by app_settings()
    logging.basicConfig(
        level=settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    init_engine(
        settings["DATABASE_URL"], echo=settings["SQL_ECHO"], pool_size=settings["DB_POOL_SIZE"]
    )
    # Flask-Migrate only needs the metadata; migrations/env.py uses bvp.data's engine.
    migrate.init_app(app, db=SimpleNamespace(metadata=Base.metadata), directory=str(MIGRATIONS_DIR))
    # Whatever a request (or an app context, e.g. a CLI command) left uncommitted is rolled back.
    app.teardown_request(lambda _exc: rollback_unfinished())
    app.teardown_appcontext(lambda _exc: rollback_unfinished())

    from bvp.api import register_api
    from bvp.cli import register_commands
    from bvp.ui import register_dashboard
    from bvp.ui.rq_dashboard import mount_rq_dashboard

    register_api(app)
    register_dashboard(app)
    mount_rq_dashboard(app)
    register_commands(app)
    return app


def alembic_config(connection=None) -> Config:
    """Alembic's configuration for BVP's migrations, optionally bound to a connection
    (scripts and tests migrating a database of their own)."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def fresh_database(url: str) -> None:
    """Create the database if missing, empty it, migrate it to head and bind ``Session``
    to it: for benchmark scripts (and anything else that owns a scratch database)."""
    from alembic import command
    from sqlalchemy import text

    from bvp.data.db import ensure_database_exists

    ensure_database_exists(url)
    engine = init_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        command.upgrade(alembic_config(connection), "head")
