"""Data sources: who or what formed a belief (a user, an importer, a forecaster)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base

SOURCE_TYPES = ("user", "forecaster", "importer", "script", "demo")


class DataSource(Base):
    __tablename__ = "data_source"
    __table_args__ = (
        UniqueConstraint("name", "type", "model", "version", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(80))
    version: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        model = f" {self.model} v{self.version}" if self.model else ""
        return f"<DataSource {self.id} {self.name!r} ({self.type}){model}>"


def get_or_create_source(
    session: Session,
    name: str,
    type: str,
    model: str | None = None,
    version: str | None = None,
    user_id: int | None = None,
) -> DataSource:
    if type not in SOURCE_TYPES:
        raise ValueError(f"source type {type!r} is not one of {', '.join(SOURCE_TYPES)}")
    source = session.scalar(
        select(DataSource).where(
            DataSource.name == name,
            DataSource.type == type,
            DataSource.model.is_not_distinct_from(model),
            DataSource.version.is_not_distinct_from(version),
        )
    )
    if source is None:
        source = DataSource(name=name, type=type, model=model, version=version, user_id=user_id)
        session.add(source)
        session.flush()
    return source
