"""What a source's ``after_import`` asks for once its files are in: materialized views
refreshed, a webhook told, forecasts queued (``enqueue_forecasts``; the forecasts are
owed per file, in its transaction, and queued once per sensor by the run)."""

from __future__ import annotations

from sqlalchemy import text

from bvp.data.transactional import transactional
from bvp.forecasting.settings import JobSettings
from bvp.ingestion.load_runs import RunTotals
from bvp.ingestion.manifest import RefreshViewAction, Source, WebhookAction
from bvp.ingestion.notify import post_summary


def forecasts_wanted(source: Source, jobs: JobSettings | None) -> bool:
    """Whether the source's imports owe forecasts (never without job settings: tests and
    scripts that import only)."""
    return "enqueue_forecasts" in source.after_import and jobs is not None


def run_after_import(source: Source, totals: RunTotals, timeout_seconds: float) -> list[str]:
    """Refresh the source's views and post to its webhooks, in the manifest's order; the
    problems, as the run's errors (a failed refresh does not undo the import)."""
    problems = []
    for action in source.after_import:
        if isinstance(action, RefreshViewAction):
            try:
                with transactional() as session:
                    name = ".".join(
                        f'"{part}"' for part in action.refresh_materialized_view.split(".")
                    )
                    session.execute(text(f"REFRESH MATERIALIZED VIEW {name}"))
            except Exception as error:
                problems.append(
                    f"{source.id}: refreshing {action.refresh_materialized_view}: {error}"
                )
        elif isinstance(action, WebhookAction):
            text_ = (
                f"{source.title}: {totals.files_imported} files imported, "
                f"{totals.beliefs_created:,} beliefs created, "
                f"{totals.beliefs_updated:,} updated"
            )
            summary = {"source": source.id, **totals.figures()}
            post_summary(action.webhook, text_, summary, timeout_seconds)
    return problems
