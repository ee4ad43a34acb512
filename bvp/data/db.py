"""Engine, session registry and declarative base, with UTC on every connection.

The data layer knows no Flask: the app, the CLI, scripts and rq jobs all call
``init_engine`` once and then use ``Session`` (a thread-local registry).
"""

from __future__ import annotations

import os

from sqlalchemy import Engine, MetaData, create_engine, event, make_url, text
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Session = scoped_session(sessionmaker(expire_on_commit=False))
_engine: Engine | None = None


def init_engine(url: str, *, echo: bool = False, pool_size: int = 5) -> Engine:
    """Create the engine for ``url`` and bind ``Session`` to it (replacing any earlier one)."""
    global _engine
    if _engine is not None:
        Session.remove()
        _engine.dispose()
    _engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,  # survive a PostgreSQL restart between requests/jobs
        connect_args={"connect_timeout": 10, "application_name": "bvp"},
    )
    event.listen(_engine, "connect", _set_utc_time_zone)
    Session.configure(bind=_engine)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("The database engine is not initialised; call init_engine(url).")
    return _engine


def ensure_database_exists(url: str) -> bool:
    """Create the database named in ``url`` if the server lacks it; True if created."""
    target = make_url(url)
    maintenance = target.set(database="postgres")
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()
    return not exists


def _set_utc_time_zone(dbapi_connection, _record) -> None:
    """Whatever the server's default, every BVP connection talks UTC.

    Committed right away: a SET inside a transaction that is later rolled back
    would silently revert to the server's time zone.
    """
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


def _forget_inherited_connections() -> None:
    """A forked child (an rq work horse) must not share its parent's sockets."""
    if _engine is not None:
        _engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def schema_revision(session) -> str | None:
    """The alembic revision the database is at (None before the first migration)."""
    exists = session.scalar(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
    return session.scalar(text("SELECT version_num FROM alembic_version")) if exists else None
