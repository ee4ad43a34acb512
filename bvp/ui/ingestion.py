"""The ingestion page: the manifest's sources, their lag against their publication
schedule, and the recent load runs.

Admins see every source; other users the sources that import into their account's
sensors (and those sources' runs). A manifest that cannot be read is shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, render_template
from sqlalchemy.orm import Session

from bvp.data.models import Account
from bvp.data.transactional import transactional
from bvp.ingestion.load_runs import LoadRun, recent_runs
from bvp.ingestion.manifest import Manifest, ManifestError, Source, load_manifest
from bvp.ingestion.status import SourceStatus, source_statuses
from bvp.ui import dashboard
from bvp.ui.auth import account_scope

RECENT_RUNS = 20


@dataclass
class IngestionOverview:
    manifest_path: str
    problems: list[str] = field(default_factory=list)  # why the manifest cannot be used
    statuses: list[SourceStatus] = field(default_factory=list)
    runs: list[LoadRun] = field(default_factory=list)


@dashboard.get("/ingestion")
def ingestion():
    with transactional() as session:
        overview = ingestion_overview(
            session, current_app.config["INGEST_MANIFEST"], account_scope()
        )
    return render_template("ingestion.html", title="Ingestion", overview=overview)


def ingestion_overview(
    session: Session, manifest_path: str, account_id: int | None
) -> IngestionOverview:
    overview = IngestionOverview(str(manifest_path))
    try:
        manifest = load_manifest(manifest_path)
    except ManifestError as error:
        overview.problems = error.problems
        return overview
    visible = _visible_sources(session, manifest, account_id)
    overview.statuses = [s for s in source_statuses(session, manifest) if s.source.id in visible]
    overview.runs = [
        run
        for run in recent_runs(session, RECENT_RUNS)
        if run.source_id in visible or (account_id is None and run.source_id is None)
    ]
    return overview


def _visible_sources(session: Session, manifest: Manifest, account_id: int | None) -> set[str]:
    if account_id is None:
        return {source.id for source in manifest.sources}
    account = session.get(Account, account_id)
    return {
        source.id
        for source in manifest.sources
        if any(
            key in manifest.sensors and manifest.sensors[key].account == account.name
            for key in _sensor_keys(source)
        )
    }


def _sensor_keys(source: Source) -> set[str]:
    """The manifest sensors a source's importers write to (their ``columns`` option)."""
    return {
        target["sensor"] if isinstance(target, dict) else target
        for importer in source.importers
        for target in (importer.options.get("columns") or {}).values()
    }
