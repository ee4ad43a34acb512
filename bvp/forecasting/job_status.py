"""Jobs as operators and API clients see them: status, times, result or error.

The one place that reads rq's jobs and registries for display; the API, the dashboard
and the CLI get plain ``JobInfo`` values and status texts from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq.job import Job, JobStatus

from bvp.queues import get_queue

WAITING = frozenset({"queued", "scheduled", "deferred", "started"})
DONE = frozenset({"finished", "failed", "stopped", "canceled"})


@dataclass(frozen=True)
class JobInfo:
    """One job: what operators and API clients want to know about it."""

    id: str
    queue: str
    status: str  # queued, scheduled, deferred, started, finished, failed, stopped, canceled
    description: str | None
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    retries_left: int | None
    error: str | None  # the last line of the traceback
    result: Any
    traceback: str | None  # for a console (`flask jobs show`), not for API clients

    def as_dict(self) -> dict:
        shown = asdict(self)
        del shown["traceback"]
        return shown


def job_status(connection: Redis, job_id: str) -> JobInfo | None:
    """The job under ``job_id``; None if Redis does not know it (never queued, expired)."""
    [info] = jobs_by_id(connection, [job_id]) or [None]
    return info


def jobs_by_id(connection: Redis, job_ids: list[str]) -> list[JobInfo]:
    """The jobs Redis knows of ``job_ids``, in their order. One round trip."""
    jobs = Job.fetch_many(job_ids, connection=connection)
    return [_info(job) for job in jobs if job is not None]


def job_statuses(connection: Redis, job_ids: list[str]) -> dict[str, str | None]:
    """Status text per job id; None for a job Redis does not know."""
    jobs = Job.fetch_many(job_ids, connection=connection)
    return {
        job_id: (_status_text(job.get_status(refresh=False)) if job is not None else None)
        for job_id, job in zip(job_ids, jobs, strict=True)
    }


def recent_job_ids(connection: Redis, queues: Iterable[str]) -> list[str]:
    """Ids of jobs waiting, running, finished or failed on ``queues`` (newest registries)."""
    ids: list[str] = []
    for name in queues:
        queue = get_queue(connection, name)
        ids += queue.get_job_ids()
        for registry in (
            queue.started_job_registry,
            queue.scheduled_job_registry,
            queue.failed_job_registry,
            queue.finished_job_registry,
        ):
            ids += registry.get_job_ids()
    return list(dict.fromkeys(ids))


def recent_failed_job_ids(connection: Redis, queue: str, count: int) -> list[str]:
    """The ``count`` newest failed jobs of ``queue`` (the newest expire last)."""
    return get_queue(connection, queue).failed_job_registry.get_job_ids(-count, -1)


def rq_time(moment: datetime | None) -> datetime | None:
    """rq keeps its times in UTC, sometimes without saying so (naive) after a round trip."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _info(job: Job) -> JobInfo:
    result = job.latest_result()
    failed = result is not None and bool((result.exc_string or "").strip())
    return JobInfo(
        id=job.id,
        queue=job.origin,
        status=_status_text(job.get_status(refresh=False)),
        description=job.description,
        enqueued_at=rq_time(job.enqueued_at),
        started_at=rq_time(job.started_at),
        ended_at=rq_time(job.ended_at),
        retries_left=job.retries_left,
        error=result.exc_string.strip().splitlines()[-1] if failed else None,
        result=result.return_value if result is not None and not failed else None,
        traceback=result.exc_string if failed else None,
    )


def _status_text(status: JobStatus | str | None) -> str:
    if status is None:
        return "unknown"
    return status.value if isinstance(status, JobStatus) else str(status)
