"""The datafile registry: every file fetched into the raw store, and what its import did.

A row is written when a file lands in the raw store (status ``fetched``) and updated by
its import (``imported`` or ``failed``, with counts or the error). Files are identified
by source, path and checksum: the same name with a changed checksum is a new version.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base
from bvp.ingestion.fetchers.base import Fetched
from bvp.ingestion.http import safe_url

FETCHED, IMPORTED, FAILED, SKIPPED = "fetched", "imported", "failed", "skipped"


class DatafileRecord(Base):
    __tablename__ = "datafile_registry"
    __table_args__ = (UniqueConstraint("source_id", "path", "checksum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(80), index=True)  # the manifest's source id
    name: Mapped[str] = mapped_column(String(255))  # the file's name at the source, kept
    path: Mapped[str] = mapped_column(String(1024))  # in the raw store: <source>/<YYYY_MM>/<name>
    remote: Mapped[str | None] = mapped_column(String(2048))  # where it came from
    remote_version: Mapped[str | None] = mapped_column(String(255))  # ETag, hash or mtime
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the bytes stored
    size: Mapped[int] = mapped_column(BigInteger)
    watermark: Mapped[str | None] = mapped_column(String(64))  # paged APIs: newest update seen
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(16), default=FETCHED)
    importer: Mapped[str | None] = mapped_column(String(200))
    rows_read: Mapped[int | None] = mapped_column(Integer)
    beliefs_created: Mapped[int | None] = mapped_column(Integer)
    beliefs_updated: Mapped[int | None] = mapped_column(Integer)
    beliefs_unchanged: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    load_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("load_runs.id", ondelete="SET NULL"), index=True
    )

    def __repr__(self) -> str:
        return f"<DatafileRecord {self.source_id}/{self.path} {self.status}>"


def held_files(session: Session, source_id: str) -> list[DatafileRecord]:
    """What the raw store holds of a source, per the registry (oldest first)."""
    return list(
        session.scalars(
            select(DatafileRecord)
            .where(DatafileRecord.source_id == source_id)
            .order_by(DatafileRecord.id)
        )
    )


def files_to_import(
    session: Session, source_id: str, *, everything: bool = False
) -> list[DatafileRecord]:
    """Files of a source not imported yet (``everything``: all of them), oldest first.

    Failed files stay failed until a new version arrives or ``--force`` asks again.
    """
    query = select(DatafileRecord).where(DatafileRecord.source_id == source_id)
    if not everything:
        query = query.where(DatafileRecord.status == FETCHED)
    return list(session.scalars(query.order_by(DatafileRecord.id)))


def import_again(session: Session, source_id: str) -> None:
    """Every file of the source back to ``fetched``: the next import reads them all."""
    session.execute(
        update(DatafileRecord)
        .where(DatafileRecord.source_id == source_id)
        .values(status=FETCHED, error=None)
    )


def latest_watermark(session: Session, source_id: str) -> str | None:
    return session.scalar(
        select(func.max(DatafileRecord.watermark)).where(DatafileRecord.source_id == source_id)
    )


def register_fetched(
    session: Session, source_id: str, fetched: list[Fetched], now: datetime, run_id: int | None
) -> None:
    """Files now in the raw store, in the registry; a file already there stays as it is."""
    for item in fetched:
        session.execute(
            insert(DatafileRecord)
            .values(
                source_id=source_id,
                name=item.name,
                path=item.stored.path,
                remote=safe_url(item.remote) if "://" in item.remote else item.remote,
                remote_version=item.remote_version,
                checksum=item.stored.checksum,
                size=item.stored.size,
                watermark=item.watermark,
                fetched_at=now,
                status=FETCHED,
                load_run_id=run_id,
            )
            .on_conflict_do_nothing()
        )
