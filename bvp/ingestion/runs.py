"""Load runs: fetch and import sources in dependency order, record everything, report.

Transactions: the run row is committed when the run starts and when it ends; each
fetched batch is registered in one transaction; each file is imported in its own
transaction (its beliefs, its registry row and the forecasts it owes), so one bad file
is recorded as failed and the others go on. Network work never holds a transaction open.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from bvp.data.belief_input import BeliefsError
from bvp.data.beliefs import SaveResult
from bvp.data.db import get_engine
from bvp.data.models import DataSource
from bvp.data.models.beliefs import delete_beliefs_of_source
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.transactional import transactional
from bvp.data.units import UnitError
from bvp.data.utc import utcnow
from bvp.forecasting.outbox import enqueue_newest_owed, owe_forecasts
from bvp.ingestion.after_import import forecasts_wanted, run_after_import
from bvp.ingestion.fetchers import make_fetcher
from bvp.ingestion.fetchers.base import FetchContext, Fetched, FetchError, HeldFile
from bvp.ingestion.http import describe_error
from bvp.ingestion.importers import ImportFileError, make_importer
from bvp.ingestion.load_runs import FAILED, SUCCEEDED, LoadRun, RunTotals
from bvp.ingestion.loading import store_table
from bvp.ingestion.manifest import Manifest, Source
from bvp.ingestion.notify import post_summary
from bvp.ingestion.raw_store import RawStore, check_file_name, file_sha256
from bvp.ingestion.registry import FAILED as FILE_FAILED
from bvp.ingestion.registry import (
    FETCHED,
    IMPORTED,
    SKIPPED,
    DatafileRecord,
    files_to_import,
    held_files,
    import_again,
    latest_watermark,
    register_fetched,
)
from bvp.ingestion.run_request import (
    IngestionSettings,
    Progress,
    RunRequest,
    RunSummary,
    no_progress,
)
from bvp.ingestion.sensors import SensorMismatchError, ensure_sensors

log = logging.getLogger(__name__)
EXPECTED_FAILURES = (
    ImportFileError,
    BeliefsError,
    UnitError,
    SensorMismatchError,
    ValueError,
    OSError,
)


class Ingestion:
    def __init__(
        self, manifest: Manifest, settings: IngestionSettings, progress: Progress = no_progress
    ):
        self.manifest = manifest
        self.settings = settings
        self.store = RawStore(settings.store_url)
        self.progress = progress

    # -- runs ---------------------------------------------------------------------------

    def run(self, request: RunRequest) -> RunSummary:
        sources = self.manifest.in_dependency_order(request.source_ids)
        run_id = self._start(request)
        totals, per_source, failed = RunTotals(), {}, set()
        try:
            for source in sources:
                blocked = [d for d in source.depends_on if d in failed]
                if blocked:
                    done = RunTotals(errors=[f"{source.id}: skipped, {', '.join(blocked)} failed"])
                else:
                    done = self._run_source(source, request, run_id)
                if done.errors or done.files_failed:
                    failed.add(source.id)
                per_source[source.id] = done
                totals.add(done)
        except BaseException as error:  # a bug or Ctrl-C: the run row says so
            self._finish(run_id, totals, FAILED, f"{type(error).__name__}: {error}")
            raise
        status = FAILED if failed else SUCCEEDED
        self._finish(run_id, totals, status, "; ".join(totals.errors) or None)
        summary = RunSummary(run_id, status, totals, per_source)
        post_summary(self.settings.webhook_url, summary.text(), summary.as_dict())
        return summary

    def _run_source(self, source: Source, request: RunRequest, run_id: int) -> RunTotals:
        with source_lock(source.id) as locked:
            if not locked:
                log.warning("%s: another run is ingesting it; skipped", source.id)
                return RunTotals(errors=[f"{source.id}: another run is ingesting it; skipped"])
            return self._run_locked_source(source, request, run_id)

    def _run_locked_source(self, source: Source, request: RunRequest, run_id: int) -> RunTotals:
        totals = RunTotals()
        if request.reset:
            self.reset(source)
        if request.fetch and source.fetcher is not None:
            self._discard_interrupted_downloads(source)  # safe: we hold the source's lock
            totals.add(self.fetch(source, request.mode, request.since, run_id))
        if request.import_files:
            everything = request.force or request.reset or request.mode == "full"
            totals.add(self.import_source(source, run_id, everything=everything))
        return totals

    def _discard_interrupted_downloads(self, source: Source) -> None:
        """A run killed mid-download leaves its partial file in the store's staging
        folder; it was never registered, and this run fetches the file again."""
        try:
            discarded = self.store.discard_incoming(source.id)
        except OSError as error:  # a store that will not delete: the fetch may still work
            log.warning("%s: could not clear interrupted downloads: %s", source.id, error)
            return
        if discarded:
            log.info(
                "%s: deleted %d partial downloads an interrupted run left: %s",
                source.id,
                len(discarded),
                ", ".join(discarded),
            )

    def _start(self, request: RunRequest) -> int:
        with transactional() as session:
            only = request.source_ids
            run = LoadRun(
                source_id=only[0] if only and len(only) == 1 else None,
                command=request.command,
                mode=request.mode,
                since=request.since,
                started_at=utcnow(),
            )
            session.add(run)
            session.flush()
            return run.id

    def _finish(self, run_id: int, totals: RunTotals, status: str, error: str | None) -> None:
        with transactional() as session:
            run = session.get(LoadRun, run_id)
            run.status, run.error, run.finished_at = status, error, utcnow()
            for name in ("files_fetched", "files_imported", "files_failed", "rows_read"):
                setattr(run, name, getattr(totals, name))
            run.beliefs_created, run.beliefs_updated = (
                totals.beliefs_created,
                totals.beliefs_updated,
            )

    # -- fetching -------------------------------------------------------------------------

    def fetch(
        self, source: Source, mode: str, since: datetime | None, run_id: int | None
    ) -> RunTotals:
        totals = RunTotals()
        with transactional() as session:
            held = [
                HeldFile(r.name, r.remote_version, r.checksum)
                for r in held_files(session, source.id)
            ]
            # Update mode asks for what changed after the newest update already fetched
            # (the source's own clock, not ours); full mode asks for everything.
            watermark = latest_watermark(session, source.id) if mode == "update" else None
        fetcher = make_fetcher(source.fetcher.name, source.fetcher.options)
        with self.progress(f"fetch {source.id}", None, "file") as bar:
            context = FetchContext(
                source.id,
                self.store,
                held,
                now=utcnow(),
                since=since if mode == "update" else None,
                watermark=watermark,
                http=self.settings.http,
                on_progress=bar,
            )
            try:
                report = fetcher.fetch(context)
            except (FetchError, OSError) as error:
                log.warning("%s: fetch failed: %s", source.id, describe_error(error))
                return RunTotals(errors=[f"{source.id}: {error}"])
            except Exception as error:  # a fetcher's bug or a URL it cannot use: this source only
                log.exception("%s: fetch failed", source.id)
                return RunTotals(errors=[f"{source.id}: fetch failed: {describe_error(error)}"])
        with transactional() as session:
            register_fetched(session, source.id, report.fetched, context.now, run_id)
        totals.files_fetched = len(report.fetched)
        totals.errors += [f"{source.id}: {error}" for error in report.errors]
        log.info(
            "%s: %d new files, %d already held", source.id, len(report.fetched), report.skipped
        )
        return totals

    def add_manual_file(self, source: Source, path: str, run_id: int | None = None) -> bool:
        """Put a file someone supplied into the store and registry; False if already held.

        Raises ``UnsafeNameError`` for names the store refuses (hidden, ``.part``, ...).
        """
        name = check_file_name(path.replace("\\", "/").rsplit("/", 1)[-1])
        checksum = file_sha256(path)
        with transactional() as session:
            if any(r.checksum == checksum for r in held_files(session, source.id)):
                return False
        now = utcnow()
        with open(path, "rb") as stream:
            stored = self.store.place(source.id, name, now, iter(lambda: stream.read(1 << 20), b""))
        with transactional() as session:
            register_fetched(session, source.id, [Fetched(name, path, stored)], now, run_id)
        return True

    # -- importing ------------------------------------------------------------------------

    def import_source(
        self, source: Source, run_id: int | None, everything: bool = False
    ) -> RunTotals:
        with transactional() as session:
            record_ids = [r.id for r in files_to_import(session, source.id, everything=everything)]
        totals = RunTotals()
        if not record_ids:
            return totals
        with self.progress(f"import {source.id}", len(record_ids), "file") as bar:
            for record_id in record_ids:
                totals.add(self.import_file(source, record_id, run_id, again=everything))
                bar(1)
        if forecasts_wanted(source, self.settings.jobs) and totals.changed_sensors:
            with transactional() as session:
                enqueue_newest_owed(session, totals.changed_sensors, self.settings.jobs)
        if totals.beliefs_created + totals.beliefs_updated:
            timeout = self.settings.http.timeout_seconds
            totals.errors += run_after_import(source, totals, timeout)
        return totals

    def import_file(
        self, source: Source, record_id: int, run_id: int | None, again: bool = False
    ) -> RunTotals:
        """Import one registered file; ``again``: even if it was imported (or failed) before."""
        try:
            with transactional() as session:
                # Locked: a concurrent run waits here, then finds the file done and skips it.
                record = session.get(DatafileRecord, record_id, with_for_update=True)
                if record.status != FETCHED and not again:
                    return RunTotals()
                spec = source.importer_for(record.name)
                if spec is None:
                    record.status, record.error = (
                        SKIPPED,
                        "no importer of this source matches the name",
                    )
                    return RunTotals()
                importer = make_importer(spec.name, spec.options)
                keys = {target.sensor for target in importer.options.columns.values()}
                sensors = ensure_sensors(session, self.manifest.sensors, keys)
                data_source = ingestion_data_source(session, source)
                with self._open(record.path) as file:
                    table = importer.read(file)
                result, changed = (
                    store_table(
                        session, table, importer, sensors, data_source.id, record.fetched_at
                    )
                    if table.rows
                    else (SaveResult(0, 0, 0), set())
                )
                record.status, record.error, record.importer = IMPORTED, None, spec.name
                record.rows_read = table.rows
                record.beliefs_created, record.beliefs_updated = result.created, result.updated
                record.beliefs_unchanged = result.unchanged
                record.imported_at, record.load_run_id = utcnow(), run_id
                if forecasts_wanted(source, self.settings.jobs):
                    for sensor_id in sorted(changed):
                        owe_forecasts(session, sensor_id)
            return RunTotals(
                changed_sensors=changed,
                files_imported=1,
                rows_read=table.rows,
                beliefs_created=result.created,
                beliefs_updated=result.updated,
            )
        except EXPECTED_FAILURES as error:
            message = str(error)
        except Exception as error:  # a bug: logged with its traceback, and the others go on
            log.exception("%s: importing file %s failed", source.id, record_id)
            message = f"internal error ({type(error).__name__}): {error}"
        with transactional() as session:
            record = session.get(DatafileRecord, record_id)
            record.status, record.error, record.load_run_id = FILE_FAILED, message, run_id
            record.imported_at = utcnow()
            name = record.name
        log.warning("%s: %s failed: %s", source.id, name, message)
        return RunTotals(files_failed=1, errors=[f"{source.id}/{name}: {message}"])

    @contextlib.contextmanager
    def _open(self, path: str):
        local = self.store.local_path(path)
        if local is not None:
            yield local
        else:
            with self.store.open(path) as stream:
                yield stream

    # -- resetting ------------------------------------------------------------------------

    def reset(self, source: Source) -> int:
        """Delete the beliefs this source imported; its files will all be imported again."""
        with transactional() as session:
            data_source = ingestion_data_source(session, source)
            deleted = delete_beliefs_of_source(session, data_source.id)
            import_again(session, source.id)
        log.info("%s: reset, %d beliefs deleted", source.id, deleted)
        return deleted


@contextlib.contextmanager
def source_lock(source_id: str):
    """A PostgreSQL advisory lock on a source for as long as a run works on it, so that
    overlapping runs (two cron jobs, a person and a cron job) never fetch or import the
    same source at once. Yields whether the lock was taken; held on its own autocommit
    connection, so no transaction stays open while the run works."""
    key = {"key": f"bvp-ingest:{source_id}"}
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        locked = connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:key))"), key)
        locked = bool(locked.scalar())
        try:
            yield locked
        finally:
            if locked:
                connection.execute(text("SELECT pg_advisory_unlock(hashtext(:key))"), key)


def ingestion_data_source(session: Session, source: Source) -> DataSource:
    """The data source beliefs imported for a manifest source are attributed to."""
    return get_or_create_source(session, source.id, "importer", model="ingestion")
