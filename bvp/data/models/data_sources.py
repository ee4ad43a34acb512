"""Data sources: who or what formed a belief (a user, an importer, a forecaster)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base

FORECASTER = "forecaster"  # BVP's own models; every other type is a measurement of sorts
SOURCE_TYPES = ("user", FORECASTER, "importer", "script", "demo")
# In SQL on ``data_source ds``: whether a belief's source measures (or forecasts)
MEASURED_BY_SQL = f"ds.type <> '{FORECASTER}'"
FORECAST_BY_SQL = f"ds.type = '{FORECASTER}'"


class DataSource(Base):
    __tablename__ = "data_source"
    __table_args__ = (
        UniqueConstraint("name", "type", "model", "version", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(320))  # a label and a user's email fit
    type: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        model = f" {self.model} v{self.version}" if self.model else ""
        return f"<DataSource {self.id} {self.name!r} ({self.type}){model}>"


def forecaster_ids():
    """The ids of BVP's forecaster sources, as a subquery."""
    return select(DataSource.id).where(DataSource.type == FORECASTER)


def forecaster_source_ids(session: Session) -> list[int]:
    return list(session.scalars(forecaster_ids()))


def importer_source_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    """Name -> id of the data sources the ingestion's sources import as (``flask
    ingest``'s importers: type ``importer``, model ``ingestion``), for those that have
    imported anything."""
    query = select(DataSource.name, DataSource.id).where(
        DataSource.name.in_(list(names)),
        DataSource.type == "importer",
        DataSource.model == "ingestion",
    )
    return dict(session.execute(query).all())


def get_or_create_source(
    session: Session,
    name: str,
    type: str,
    model: str | None = None,
    version: str | None = None,
    user_id: int | None = None,
) -> DataSource:
    """The source with these fields, created if missing (safe when two writers race)."""
    if type not in SOURCE_TYPES:
        raise ValueError(f"source type {type!r} is not one of {', '.join(SOURCE_TYPES)}")
    query = select(DataSource).where(
        DataSource.name == name,
        DataSource.type == type,
        DataSource.model.is_not_distinct_from(model),
        DataSource.version.is_not_distinct_from(version),
    )
    source = session.scalar(query)
    if source is None:
        session.execute(
            insert(DataSource)
            .values(name=name, type=type, model=model, version=version, user_id=user_id)
            .on_conflict_do_nothing(constraint="uq_data_source_name_type_model_version")
        )
        source = session.scalar(query)
    return source
