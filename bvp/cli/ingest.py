"""flask ingest ...: pull external sources in from the manifest, and see how they are doing."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from bvp.config import app_settings
from bvp.data.transactional import transactional
from bvp.data.utc import to_utc
from bvp.ingestion.load_runs import MODES, recent_runs
from bvp.ingestion.manifest import Manifest, ManifestError, load_manifest
from bvp.ingestion.raw_store import RawStore, UnsafeNameError
from bvp.ingestion.run_request import IngestionSettings, RunRequest, RunSummary
from bvp.ingestion.runs import Ingestion
from bvp.ingestion.smoketests import check_expectations, current_figures, write_expectations
from bvp.ingestion.status import source_statuses

ingest = AppGroup("ingest", help="Ingestion pipelines: fetch and import external sources.")

MANIFEST = click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False),
    help="The manifest file (default: BVP_INGEST_MANIFEST).",
)
MODE = click.option(
    "--mode",
    type=click.Choice(MODES),
    default="update",
    show_default=True,
    help="update: only what is new since the last fetch; full: ask the source for everything "
    "and import every file again (unchanged beliefs stay as they are).",
)
SOURCES = click.option(
    "--source", "source_ids", multiple=True, help="Only this source (repeatable). Default: all."
)


@contextlib.contextmanager
def _bars(description: str, total: int | None, unit: str):
    with tqdm(total=total, desc=description, unit=unit, file=sys.stderr, disable=None) as bar:
        yield bar.update


def _manifest(path: str | None) -> tuple[Manifest, Path]:
    path = Path(path or current_app.config["INGEST_MANIFEST"])
    try:
        return load_manifest(path), path
    except ManifestError as error:
        problems = "\n".join(f"  - {p}" for p in error.problems)
        raise click.ClickException(f"the manifest {path} cannot be used:\n{problems}") from None


def _ingestion(manifest: Manifest) -> Ingestion:
    return Ingestion(
        manifest, IngestionSettings.from_config(current_app.config, app_settings().jobs), _bars
    )


def _known(manifest: Manifest, source_ids) -> list[str] | None:
    for source_id in source_ids:
        try:
            manifest.source(source_id)
        except KeyError as error:
            raise click.BadParameter(error.args[0], param_hint="--source") from None
    return list(source_ids) or None


def _since(text: str | None):
    if text is None:
        return None
    try:
        return to_utc(text, "--since")
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from None


def _report(summary: RunSummary, manifest: Manifest, manifest_path: Path, check: bool) -> None:
    t = summary.totals
    click.echo(
        f"run {summary.run_id} {summary.status}: {t.files_fetched} files fetched, "
        f"{t.files_imported} imported, {t.files_failed} failed; {t.rows_read:,} rows read, "
        f"{t.beliefs_created:,} beliefs created, {t.beliefs_updated:,} updated"
    )
    for error in t.errors:
        click.echo(f"  failed: {error}", err=True)
    failures = _smoke_failures(manifest, manifest_path) if check else []
    for failure in failures:
        click.echo(f"  smoke test: {failure}", err=True)
    if summary.status != "succeeded" or failures:
        raise SystemExit(1)


def _smoketests_path(manifest_path: Path) -> Path:
    configured = current_app.config["INGEST_SMOKETESTS"]
    return Path(configured) if configured else manifest_path.with_suffix(".smoketests.yaml")


def _smoke_failures(manifest: Manifest, manifest_path: Path) -> list[str]:
    with transactional() as session:
        figures = current_figures(session, manifest)
    return check_expectations(_smoketests_path(manifest_path), figures)


@ingest.command("sources")
@MANIFEST
def sources(manifest_path: str | None) -> None:
    """Check the manifest and list its sources in dependency order."""
    manifest, path = _manifest(manifest_path)
    click.echo(f"{path}: {len(manifest.sources)} sources, {len(manifest.sensors)} sensors")
    for source in manifest.in_dependency_order():
        how = source.fetcher.name if source.fetcher else "manual"
        after = f" after {', '.join(source.depends_on)}" if source.depends_on else ""
        importers = ", ".join(i.name for i in source.importers) or "no importer"
        click.echo(f"  {source.id:<24} {how:<12} {importers}{after}  [{', '.join(source.tags)}]")


@ingest.command("getmanual")
@MANIFEST
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="SOURCE=PATH",
    help="Add this file to a manual source without asking (repeatable).",
)
def getmanual(manifest_path: str | None, files: tuple[str, ...]) -> None:
    """Add files to the manual sources: lists each with where to get its files, asks for paths."""
    manifest, _ = _manifest(manifest_path)
    ingestion = _ingestion(manifest)
    manual = [s for s in manifest.in_dependency_order() if s.is_manual]
    if not manual:
        click.echo("The manifest has no manual sources (no fetcher, tag core_data).")
        return
    given: list[tuple[str, str]] = []
    for item in files:
        source_id, sep, path = item.partition("=")
        if not sep or source_id not in {s.id for s in manual}:
            raise click.BadParameter(
                f"{item!r}: expected SOURCE=PATH for a manual source", param_hint="--file"
            )
        given.append((source_id, path))
    if not files:
        for source in manual:
            click.echo(f"\n{source.id}: {source.title}\n  {source.description}")
            if source.index_url:
                click.echo(f"  get files from: {source.index_url}")
            while path := click.prompt(
                "  path of a file (empty: next source)", default="", show_default=False
            ):
                given.append((source.id, path))
    added = 0
    for source_id, path in given:
        if not Path(path).is_file():
            raise click.BadParameter(f"{path}: no such file", param_hint="--file")
        try:
            added_now = ingestion.add_manual_file(manifest.source(source_id), path)
        except UnsafeNameError as error:
            raise click.BadParameter(str(error), param_hint="--file") from None
        if added_now:
            added += 1
            click.echo(f"added {path} to {source_id}")
        else:
            click.echo(f"{path}: already held for {source_id}, skipped")
    click.echo(f"{added} files added; import them with `flask ingest runimporters`.")


@ingest.command("getauto")
@MANIFEST
@SOURCES
@MODE
@click.option("--since", help="Update mode: only what changed after this (ISO 8601 with offset).")
def getauto(manifest_path: str | None, source_ids, mode: str, since: str | None) -> None:
    """Run every fetcher, in dependency order: download only what is new."""
    manifest, path = _manifest(manifest_path)
    only = _known(manifest, source_ids) or [s.id for s in manifest.sources if s.fetcher]
    request = RunRequest("getauto", only, mode, _since(since), fetch=True, import_files=False)
    _report(_ingestion(manifest).run(request), manifest, path, check=False)


@ingest.command("runimporters")
@MANIFEST
@SOURCES
@click.option("--force", is_flag=True, help="Import again files already imported or failed.")
def runimporters(manifest_path: str | None, source_ids, force: bool) -> None:
    """Import every file not imported yet, in dependency order; failed files are listed."""
    manifest, path = _manifest(manifest_path)
    request = RunRequest("runimporters", _known(manifest, source_ids), fetch=False, force=force)
    _report(_ingestion(manifest).run(request), manifest, path, check=True)


@ingest.command("run")
@MANIFEST
@click.argument("source_id", metavar="SOURCE")
@MODE
@click.option("--since", help="Update mode: only what changed after this (ISO 8601 with offset).")
@click.option("--reset", is_flag=True, help="Full mode: delete this source's beliefs first.")
@click.option("--force", is_flag=True, help="Import again files already imported or failed.")
@click.option("--yes", is_flag=True, help="Do not ask before --reset deletes data.")
def run(manifest_path, source_id, mode, since, reset, force, yes) -> None:
    """Fetch and import one source."""
    manifest, path = _manifest(manifest_path)
    _known(manifest, [source_id])
    if reset and mode != "full":
        raise click.UsageError("--reset goes with --mode full")
    if reset and not yes:
        click.confirm(
            f"Delete every belief {source_id} imported, and import it all again?", abort=True
        )
    request = RunRequest("run", [source_id], mode, _since(since), force=force, reset=reset)
    _report(_ingestion(manifest).run(request), manifest, path, check=True)


@ingest.command("status")
@MANIFEST
@click.option("--runs", default=5, show_default=True, help="Also list this many recent runs.")
def status(manifest_path: str | None, runs: int) -> None:
    """Per source: files, newest file and last import, rows, newest data, lag against its
    schedule; and the recent runs (each fetch run is there, even one that found nothing)."""
    manifest, _ = _manifest(manifest_path)
    with transactional() as session:
        statuses = source_statuses(session, manifest)
        recent = recent_runs(session, runs)
        for s in statuses:
            files = (
                ", ".join(f"{n} {status}" for status, n in sorted(s.files.items())) or "no files"
            )
            click.echo(f"{s.source.id}: {s.source.title}")
            click.echo(f"  files:        {files}; {s.rows_read:,} rows read")
            click.echo(
                f"  newest file:  {_when(s.last_fetch)}   last import: {_when(s.last_import)}"
            )
            click.echo(f"  newest event: {_when(s.latest_event)}")
            schedule = s.source.publication_schedule or "-"
            lag = s.source.publication_lag or "-"
            click.echo(f"  published:    {schedule} (lag {lag}): {s.lag}")
        if recent:
            click.echo("\nrecent runs:")
        for r in recent:
            click.echo(
                f"  {r.id:>5} {r.command:<12} {r.source_id or 'all':<20} {r.mode:<6} {r.status:<9} "
                f"{_when(r.started_at)}  {r.files_fetched} fetched, {r.files_imported} imported, "
                f"{r.files_failed} failed"
            )


def _when(moment) -> str:
    return moment.isoformat(timespec="seconds") if moment else "never"


@ingest.command("archivedata")
@click.option(
    "--to", "target", help="Where to copy the raw store (default: BVP_INGEST_ARCHIVE_URL)."
)
def archivedata(target: str | None) -> None:
    """Copy the raw store's files that the archive does not hold yet (e.g. to a bucket)."""
    target = target or current_app.config["INGEST_ARCHIVE_URL"]
    if not target:
        raise click.UsageError("Say where to: --to URL, or set BVP_INGEST_ARCHIVE_URL.")
    store, archive = RawStore(current_app.config["INGEST_STORE_URL"]), RawStore(target)
    held = set(archive.files())
    missing = [p for p in store.files() if p not in held]
    with _bars("archive", len(missing), "file") as bar:
        for path in missing:
            store.copy_to(archive, path)
            bar(1)
    click.echo(f"{len(missing)} files copied, {len(held)} were already archived.")


@ingest.command("smoketests")
@MANIFEST
def smoketests(manifest_path: str | None) -> None:
    """Check that the database holds at least what the smoke-test file expects."""
    manifest, path = _manifest(manifest_path)
    expectations = _smoketests_path(path)
    if not expectations.exists():
        raise click.ClickException(f"{expectations} does not exist: write it with updatesmoketests")
    failures = _smoke_failures(manifest, path)
    for failure in failures:
        click.echo(f"failed: {failure}", err=True)
    if failures:
        raise SystemExit(1)
    click.echo(f"all smoke tests in {expectations} pass")


@ingest.command("updatesmoketests")
@MANIFEST
def updatesmoketests(manifest_path: str | None) -> None:
    """Write today's figures (beliefs per sensor, newest event) as the smoke-test expectations."""
    manifest, path = _manifest(manifest_path)
    with transactional() as session:
        figures = current_figures(session, manifest)
    expectations = _smoketests_path(path)
    write_expectations(expectations, figures)
    sensors = sum(len(v) for v in figures.values())
    click.echo(
        f"wrote expectations for {len(figures)} sources, {sensors} sensors to {expectations}"
    )
