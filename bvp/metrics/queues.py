"""Queue health per month, from the job runs workers record (see ``JobRun``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.models.job_runs import FAILED, FINISHED, RETRIED, job_runs_ended_between
from bvp.metrics.durations import percentile
from bvp.metrics.months import Month


@dataclass(frozen=True)
class QueueHealth:
    queue: str
    finished: int
    failed: int  # failed for good (no retries left)
    retries: int  # attempts that failed and were tried again
    wait_p50: timedelta | None  # enqueued -> started
    wait_p95: timedelta | None
    run_p50: timedelta | None  # started -> ended
    run_p95: timedelta | None


def queue_health(session: Session, month: Month) -> list[QueueHealth]:
    """Every attempt that ended within the month, per queue."""
    rows = job_runs_ended_between(session, month.start, month.end)
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["queue", "status", "enqueued", "started", "ended"])
    for column in ("enqueued", "started", "ended"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["wait"] = frame["started"] - frame["enqueued"]
    frame["run"] = frame["ended"] - frame["started"]
    health = []
    for queue, group in frame.groupby("queue", sort=True):
        counts = group["status"].value_counts()
        health.append(
            QueueHealth(
                queue=queue,
                finished=int(counts.get(FINISHED, 0)),
                failed=int(counts.get(FAILED, 0)),
                retries=int(counts.get(RETRIED, 0)),
                wait_p50=percentile(group["wait"], 0.5),
                wait_p95=percentile(group["wait"], 0.95),
                run_p50=percentile(group["run"], 0.5),
                run_p95=percentile(group["run"], 0.95),
            )
        )
    return health
