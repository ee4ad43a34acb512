"""Load runs: each run of one source or of all of them, with what it did and how it ended.

A run row is committed when the run starts (so a crashed run is visible as ``running``
with no end) and again when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bvp.data.db import Base

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
MODES = ("full", "update")


class LoadRun(Base):
    __tablename__ = "load_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str | None] = mapped_column(String(80), index=True)  # None: all sources
    command: Mapped[str] = mapped_column(String(40))  # getauto, runimporters, run, getmanual
    mode: Mapped[str] = mapped_column(String(10), default="update")
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    files_fetched: Mapped[int] = mapped_column(Integer, default=0)
    files_imported: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    beliefs_created: Mapped[int] = mapped_column(Integer, default=0)
    beliefs_updated: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<LoadRun {self.id} {self.command} {self.source_id or 'all'} {self.status}>"


@dataclass
class RunTotals:
    """What a run did, added up while it goes."""

    files_fetched: int = 0
    files_imported: int = 0
    files_failed: int = 0
    rows_read: int = 0
    beliefs_created: int = 0
    beliefs_updated: int = 0
    errors: list[str] = field(default_factory=list)
    changed_sensors: set[int] = field(default_factory=set)  # got new or updated beliefs

    def figures(self) -> dict:
        """Counts and errors, as plain JSON values."""
        return {k: v for k, v in vars(self).items() if k != "changed_sensors"}

    def add(self, other: RunTotals) -> None:
        for name in (
            "files_fetched",
            "files_imported",
            "files_failed",
            "rows_read",
            "beliefs_created",
            "beliefs_updated",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        self.changed_sensors |= other.changed_sensors


def recent_runs(session: Session, limit: int = 20) -> list[LoadRun]:
    return list(session.scalars(select(LoadRun).order_by(LoadRun.id.desc()).limit(limit)))
