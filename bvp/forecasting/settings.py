"""What forecasting jobs and workers need from the configuration, typed and checked.

``create_app`` builds these once from the layered configuration (``bvp.config``, where
every default is written) and keeps them in ``app.extensions``; a bad value stops
start-up there, naming its variable, instead of failing every data POST later. Field
aliases are the configuration's names (``FORECAST_HORIZONS``), so a validation error
says which ``BVP_*`` variable to fix. Nothing here has a default of its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bvp.data.utc import parse_duration
from bvp.queues import QUEUE_NAMES

WholeNumber = Annotated[int, Field(strict=True)]


def parse_horizons(text: str) -> list[timedelta]:
    """'PT1H,PT6H,P1D' -> timedeltas (each longer than zero)."""
    return [parse_duration(part) for part in text.split(",") if part.strip()]


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class JobSettings(_Settings):
    """Enqueueing forecasts: where, for which horizons, retried and timed out how."""

    redis_url: str = Field(alias="REDIS_URL", min_length=1)
    horizons: tuple[timedelta, ...] = Field(alias="FORECAST_HORIZONS", min_length=1)
    queue: str = Field(alias="FORECAST_QUEUE")
    retries: WholeNumber = Field(alias="JOB_RETRIES", ge=0)
    timeout: WholeNumber = Field(alias="JOB_TIMEOUT_SECONDS", ge=1)
    model_max_age_days: WholeNumber = Field(alias="MODEL_MAX_AGE_DAYS", ge=1)

    @field_validator("horizons", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> Any:
        """A comma-separated text (configuration), or durations, texts or seconds (the
        plain values of ``as_job_kwargs``)."""
        if isinstance(value, str):
            horizons = parse_horizons(value)
            if not horizons:
                raise ValueError(f"{value!r} names no duration (e.g. PT1H,PT6H,P1D)")
            return horizons
        if isinstance(value, list | tuple):
            return [parse_duration(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("horizons")
    @classmethod
    def _longer_than_zero(cls, horizons: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        if min(horizons) <= timedelta(0):
            raise ValueError("every horizon must be longer than zero")
        return horizons

    @field_validator("queue")
    @classmethod
    def _known_queue(cls, queue: str) -> str:
        if queue not in QUEUE_NAMES:
            raise ValueError(f"{queue!r} is not one of {', '.join(QUEUE_NAMES)}")
        return queue

    @property
    def model_max_age(self) -> timedelta:
        """A sensor's model choice older than this is made again by backtest."""
        return timedelta(days=self.model_max_age_days)

    def for_horizons(self, horizons: list[timedelta]) -> JobSettings:
        return self.model_copy(update={"horizons": tuple(horizons)})

    def as_job_kwargs(self) -> dict:
        """Plain values, for passing these settings to a job (``JobSettings(**kwargs)``)."""
        return {
            "redis_url": self.redis_url,
            "horizons": [h.total_seconds() for h in self.horizons],
            "queue": self.queue,
            "retries": self.retries,
            "timeout": self.timeout,
            "model_max_age_days": self.model_max_age_days,
        }


class WorkerSettings(_Settings):
    """Running a worker: its CPU priority, threads, how jobs run, and its clocks."""

    niceness: WholeNumber = Field(alias="WORKER_NICENESS", ge=0, le=19)
    model_threads: WholeNumber = Field(alias="MODEL_THREADS", ge=1)
    jobs: Literal["in-process", "fork"] = Field(alias="WORKER_JOBS")
    batch_size: WholeNumber = Field(alias="FORECAST_BATCH_SIZE", ge=1, le=500)
    maintenance_seconds: WholeNumber = Field(alias="WORKER_MAINTENANCE_SECONDS", ge=1)
    heartbeat_seconds: WholeNumber = Field(alias="JOB_HEARTBEAT_SECONDS", ge=1)
