"""What an ingestion run is asked to do, with which settings, and the summary it answers
with (to the CLI, and to the webhook as text and JSON)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bvp.forecasting.settings import JobSettings
from bvp.ingestion.http import HttpSettings
from bvp.ingestion.load_runs import RunTotals


@dataclass(frozen=True)
class IngestionSettings:
    store_url: str
    webhook_url: str = ""
    http: HttpSettings = field(default_factory=HttpSettings)
    jobs: JobSettings | None = None

    @classmethod
    def from_config(cls, config, jobs: JobSettings) -> IngestionSettings:
        return cls(
            store_url=config["INGEST_STORE_URL"],
            webhook_url=config["INGEST_WEBHOOK_URL"],
            http=HttpSettings.from_config(config),
            jobs=jobs,
        )


Bar = Callable[[int], None]
Progress = Callable[[str, int | None, str], contextlib.AbstractContextManager[Bar]]


@contextlib.contextmanager
def no_progress(description: str, total: int | None, unit: str):
    yield lambda n: None


@dataclass
class RunRequest:
    command: str  # getauto, runimporters, run, getmanual
    source_ids: list[str] | None = None  # None: every source
    mode: str = "update"
    since: datetime | None = None
    fetch: bool = True
    import_files: bool = True
    force: bool = False  # re-import files already imported (or failed)
    reset: bool = False  # delete the sources' beliefs first (full mode)


@dataclass
class RunSummary:
    run_id: int
    status: str
    totals: RunTotals
    per_source: dict[str, RunTotals]

    def text(self) -> str:
        t = self.totals
        lines = [
            f"BVP ingestion run {self.run_id} {self.status}: {t.files_fetched} files fetched, "
            f"{t.files_imported} imported, {t.files_failed} failed, {t.rows_read:,} rows read, "
            f"{t.beliefs_created:,} beliefs created, {t.beliefs_updated:,} updated."
        ]
        lines += [f"- {error}" for error in t.errors[:20]]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "status": self.status,
            **self.totals.figures(),
            "sources": {s: t.figures() for s, t in self.per_source.items()},
        }
