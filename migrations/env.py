"""Alembic environment: migrates the database that bvp.data's engine points at."""

from __future__ import annotations

import logging
from logging.config import fileConfig

from alembic import context

from bvp.data import models  # noqa: F401 - registers every table on the metadata
from bvp.data.db import Base, get_engine
from bvp.data.models.sensors import REGRESSOR_INDEXES
from bvp.ingestion import load_runs, registry  # noqa: F401 - ingestion's own tables
from bvp.metrics import records  # noqa: F401 - the stored monthly metrics

config = context.config
if config.config_file_name is not None and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out of autogenerate timed_belief's monthly partitions (bvp/data/partitions.py:
    made at run time, not by migrations), the earthdistance index on assets (made by
    migration 0012 only where the server has the extension) and the GIN indexes on the
    sensors' regressor lists (expression indexes, made by migration 0015)."""
    if type_ == "index" and name in ("ix_asset_earth", *REGRESSOR_INDEXES):
        return False
    return not (type_ == "table" and reflected and compare_to is None and _is_partition(obj))


def _is_partition(table) -> bool:
    return table.name.startswith("timed_belief_y") or table.name.startswith("timed_belief_before_")


def run_migrations_offline() -> None:
    context.configure(
        url=get_engine().url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A test or script may hand in its own connection (config.attributes["connection"]).
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
