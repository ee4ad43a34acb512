"""Layered configuration.

Every setting is looked up in this order, first hit wins:

1. environment variables ``BVP_<NAME>`` (e.g. ``BVP_DATABASE_URL``),
2. a ``.env`` file in the working directory (or the file named by ``BVP_DOTENV``),
3. the config file: ``BVP_CONFIG_FILE`` if set, else ``development_config.py`` at the
   repository root in development,
4. the defaults below (per environment): the one place every default is written.

``load_settings`` resolves them once, at start, and builds the typed settings of the
jobs and the workers (``bvp.forecasting.settings``), which check every value: a bad one
stops start-up with ``BVP_<NAME>: what is wrong``. ``create_app`` keeps the result in
``app.extensions`` (``app_settings()``), and every caller reads it from there.

The environment itself comes from ``BVP_ENV`` (development, testing, production).
In testing, the database and Redis come from ``BVP_TEST_DATABASE_URL`` and
``BVP_TEST_REDIS_URL`` only, so a test run can never touch a configured production
database by accident.
"""

from __future__ import annotations

import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import click
from dotenv import dotenv_values
from flask import Flask, current_app
from limits import parse_many
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bvp.data.utc import parse_duration, to_utc
from bvp.forecasting.settings import JobSettings, WorkerSettings

ENVIRONMENTS = ("development", "testing", "production")
REPO_ROOT = Path(__file__).resolve().parent.parent

# name -> default; the default's type is the type an env var string is coerced to.
DEFAULTS: dict[str, Any] = {
    # Development without these two runs on embedded servers (bvp/embedded.py).
    "DATABASE_URL": "",
    "REDIS_URL": "",
    "REDIS_HOST": "127.0.0.1",
    "REDIS_PORT": 6379,
    "REDIS_PASSWORD": "",
    "REDIS_DB": 0,
    "SECRET_KEY": "",
    "LOG_LEVEL": "INFO",
    "SQL_ECHO": False,
    "DB_POOL_SIZE": 5,
    # Forecasting: horizons as ISO 8601 durations, comma separated.
    "FORECAST_HORIZONS": "PT1H,PT6H,P1D",
    "FORECAST_QUEUE": "forecasting",
    "JOB_RETRIES": 3,
    "JOB_TIMEOUT_SECONDS": 600,
    "MODEL_MAX_AGE_DAYS": 7,  # a sensor's model is re-chosen by backtest when older
    # Workers: how often each re-queues the jobs of workers that died (and drains the
    # forecast outbox), and how often a running job's heartbeat is sent (a job whose
    # worker misses three in a row is abandoned, and retried by another worker).
    "WORKER_MAINTENANCE_SECONDS": 600,
    "JOB_HEARTBEAT_SECONDS": 30,
    # Forecasting is background work: workers (and the work horses they fork) run at
    # this nice value (0-19) with the batch scheduling policy, so the API on the same
    # machine keeps the CPU it needs. 0 leaves their priority as started.
    "WORKER_NICENESS": 10,
    "MODEL_THREADS": 1,  # per job: one worker per core, each model on one thread
    # How forecasting jobs run: "in-process" (rq's SimpleWorker: no fork per job, models
    # and connections kept between jobs; a job stuck past its timeout ends the worker,
    # to be restarted) or "fork" (rq's Worker: a work horse forked per job, killed at its
    # timeout). A forecast from a stored fit costs about 30 ms of CPU in-process and
    # 175 ms forked (bench/forecasting.py). Model selection and training always fork.
    "WORKER_JOBS": "in-process",
    # An in-process worker that takes a forecast job also takes the jobs of up to this
    # many sensors in all waiting for the same origin and horizon, and forecasts them in
    # one batch: one read, one write, one commit. It never waits to fill a batch; their
    # forecasts are readable when the batch commits (about 1 s for 50). 1: no batches.
    "FORECAST_BATCH_SIZE": 50,
    # API
    "TOKEN_LIFETIME_SECONDS": 6 * 3600,
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # bytes per request body; larger is a 413
    "RATE_LIMIT": "1200 per minute",  # per client (token or address); more is a 429
    "LOGIN_RATE_LIMIT": "20 per minute",  # password attempts per address
    "RATE_LIMIT_STORAGE_URI": "",  # default: the Redis of BVP_REDIS_URL
    # Development: where embedded PostgreSQL and Redis keep their data and sockets.
    "EMBEDDED_DIR": ".bvp",
    # Metrics: "now" for reports (ISO 8601 with offset); empty: the real now.
    "DATE_ANCHOR": "",
    # Ingestion
    "INGEST_MANIFEST": "ingestion/manifest.example.yaml",  # relative to the working directory
    "INGEST_STORE_URL": ".bvp/raw",  # raw store: a folder, or an fsspec URL (s3://bucket/raw)
    "INGEST_ARCHIVE_URL": "",  # where `flask ingest archivedata` copies the raw store
    "INGEST_WEBHOOK_URL": "",  # run summaries (Slack-compatible); a secret, never logged
    "INGEST_SMOKETESTS": "",  # expectations file; default: <manifest>.smoketests.yaml
    "INGEST_HTTP_TIMEOUT_SECONDS": 30.0,
    "INGEST_HTTP_ATTEMPTS": 4,  # tries per request, with exponential backoff
    "INGEST_HTTP_BACKOFF_SECONDS": 1.0,
    "INGEST_MAX_FILE_BYTES": 2 * 1024**3,  # larger downloads are refused
    # Dashboard: a sensor shows as stale when its last event ended longer ago than this
    # (ISO 8601 duration) plus one resolution.
    "DASHBOARD_STALE_AFTER": "PT6H",
}

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "development": {
        "SECRET_KEY": "development-only-secret-key",
        "LOG_LEVEL": "DEBUG",
    },
    "testing": {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "SECRET_KEY": "testing-only-secret-key",
        "RATE_LIMIT_STORAGE_URI": "memory://",
        # Test workers run at the test runner's priority, so a busy machine does not
        # slow them (tests/forecasting/test_worker.py sets it to see it work).
        "WORKER_NICENESS": 0,
    },
    "production": {},
}

# In testing these settings are read from BVP_TEST_* names instead of BVP_*.
TESTING_ONLY_NAMES = {"DATABASE_URL": "TEST_DATABASE_URL", "REDIS_URL": "TEST_REDIS_URL"}


class ConfigurationError(click.ClickException):
    """The configuration cannot work; the message says which setting to fix. A click
    error, so that `flask ...` and `python worker.py` print it and exit with status 1
    (elsewhere, e.g. under gunicorn, it is raised as any error)."""


@dataclass(frozen=True)
class Settings:
    """Every setting's value and where it came from, and the typed settings built from
    them once, at start (a bad value raises ConfigurationError naming its variable)."""

    environment: str
    values: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)  # name -> where it came from
    jobs: JobSettings = field(init=False)
    workers: WorkerSettings = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "jobs", _typed(JobSettings, self.values))
        object.__setattr__(self, "workers", _typed(WorkerSettings, self.values))
        _typed(ServiceSettings, self.values)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


class ServiceSettings(BaseModel):
    """The rest of the settings, checked at start like the jobs' and the workers' (the
    callers read them from ``app.config``): a typo stops start-up, naming its variable,
    instead of failing the first request, sign-in or import that reads it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(alias="LOG_LEVEL")
    db_pool_size: int = Field(alias="DB_POOL_SIZE", strict=True, ge=1)
    redis_port: int = Field(alias="REDIS_PORT", strict=True, ge=1, le=65535)
    redis_db: int = Field(alias="REDIS_DB", strict=True, ge=0)
    token_lifetime_seconds: int = Field(alias="TOKEN_LIFETIME_SECONDS", strict=True, ge=60)
    max_content_length: int = Field(alias="MAX_CONTENT_LENGTH", strict=True, ge=1024)
    rate_limit: str = Field(alias="RATE_LIMIT")
    login_rate_limit: str = Field(alias="LOGIN_RATE_LIMIT")
    date_anchor: str = Field(alias="DATE_ANCHOR")
    ingest_http_timeout_seconds: float = Field(alias="INGEST_HTTP_TIMEOUT_SECONDS", gt=0)
    ingest_http_attempts: int = Field(alias="INGEST_HTTP_ATTEMPTS", strict=True, ge=1)
    ingest_http_backoff_seconds: float = Field(alias="INGEST_HTTP_BACKOFF_SECONDS", ge=0)
    ingest_max_file_bytes: int = Field(alias="INGEST_MAX_FILE_BYTES", strict=True, ge=1)
    dashboard_stale_after: str = Field(alias="DASHBOARD_STALE_AFTER")

    @field_validator("rate_limit", "login_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit (e.g. '1200 per minute', '20/minute')"
            ) from None
        return value

    @field_validator("date_anchor")
    @classmethod
    def _anchor(cls, value: str) -> str:
        if value.strip():
            to_utc(value, "a date anchor")  # ISO 8601 with an offset
        return value

    @field_validator("dashboard_stale_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


def app_settings(app: Flask | None = None) -> Settings:
    """The settings ``create_app`` built for ``app`` (default: the current one)."""
    return (app or current_app).extensions[EXTENSION]


EXTENSION = "bvp.settings"


def _typed(model: type[BaseModel], values: dict[str, Any]):
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigurationError(_named(error.errors()[0])) from None


def _named(problem: dict) -> str:
    """One pydantic error as ``BVP_<NAME>: what is wrong`` (the alias is the name)."""
    name = f"BVP_{problem['loc'][0]}"
    if problem["type"] == "value_error":  # our validators say what they got
        return f"{name}: {problem['msg'].removeprefix('Value error, ')}"
    said = problem["msg"][0].lower() + problem["msg"][1:]
    return f"{name}: {problem['input']!r}: {said}" + HINTS.get(name, "")


HINTS = {
    "BVP_WORKER_NICENESS": " (a nice value from 0, as started, to 19, the lowest CPU "
    "priority: workers can only lower their priority)",
    "BVP_MODEL_THREADS": " (one worker per core: keep 1)",
}


def current_environment(environ: dict[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    environment = environ.get("BVP_ENV", "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"BVP_ENV={environment!r} is not one of {', '.join(ENVIRONMENTS)}."
        )
    return environment


def load_settings(
    environment: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    dotenv_path: str | Path | None = None,
) -> Settings:
    """Resolve every setting through the four layers; ``overrides`` (tests) beat all."""
    environ = dict(os.environ if environ is None else environ)
    environment = environment or current_environment(environ)
    dotenv_path = dotenv_path or environ.get("BVP_DOTENV", ".env")
    dotenv = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    config_file = _config_file_values(environment, environ, dotenv)

    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, default in DEFAULTS.items():
        testing_only = environment == "testing" and name in TESTING_ONLY_NAMES
        key = "BVP_" + (TESTING_ONLY_NAMES[name] if testing_only else name)
        if key in environ:
            raw, origin = environ[key], f"environment variable {key}"
        elif key in dotenv:
            raw, origin = dotenv[key], f".env ({key})"
        elif name in config_file and not testing_only:
            raw, origin = config_file[name], "config file"
        else:
            raw = ENVIRONMENT_DEFAULTS[environment].get(name, default)
            origin = "default"
        values[name] = _coerce(name, raw, default)
        origins[name] = origin
    for name, value in (overrides or {}).items():
        values[name] = value
        origins[name] = "override"

    if not values["REDIS_URL"]:
        values["REDIS_URL"] = redis_url_from_parts(values)
        origins["REDIS_URL"] = "REDIS_HOST/PORT/PASSWORD/DB"
    check_settings(environment, values)
    return Settings(environment, values, origins)  # typed and checked as it is built


def redis_url_from_parts(values: dict[str, Any]) -> str:
    password = values.get("REDIS_PASSWORD") or ""
    auth = f":{quote(password, safe='')}@" if password else ""
    return f"redis://{auth}{values['REDIS_HOST']}:{values['REDIS_PORT']}/{values['REDIS_DB']}"


def check_settings(environment: str, values: dict[str, Any]) -> None:
    """Refuse configurations that cannot work, naming what is missing (the typed
    settings check the values of the rest as ``Settings`` builds them)."""
    missing = [n for n in ("SECRET_KEY", "DATABASE_URL") if not values.get(n)]
    if environment == "production" and missing:
        names = " and ".join(f"BVP_{n}" for n in missing)
        raise ConfigurationError(
            f"Production refuses to start: {names} {'is' if len(missing) == 1 else 'are'} "
            "not set. Set it in the environment, a .env file or the BVP_CONFIG_FILE."
        )
    if not values.get("DATABASE_URL") and environment != "development":
        # (development without one runs on an embedded server, see bvp/embedded.py)
        raise ConfigurationError("BVP_DATABASE_URL is not set.")


def _config_file_values(
    environment: str, environ: dict[str, str], dotenv: dict[str, str]
) -> dict[str, Any]:
    path = environ.get("BVP_CONFIG_FILE") or dotenv.get("BVP_CONFIG_FILE")
    if path:
        if not Path(path).is_file():
            raise ConfigurationError(f"BVP_CONFIG_FILE={path} does not exist.")
    elif environment == "development" and (REPO_ROOT / "development_config.py").is_file():
        path = str(REPO_ROOT / "development_config.py")
    else:
        return {}
    namespace = runpy.run_path(path)
    return {k: v for k, v in namespace.items() if k in DEFAULTS}


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if not isinstance(raw, str) or isinstance(default, str):
        return raw
    try:
        if isinstance(default, bool):
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = {bool: "yes or no", int: "whole number", float: "number"}[type(default)]
        hint = HINTS.get(f"BVP_{name}", "")
        raise ConfigurationError(f"BVP_{name}: {raw!r} is not a {kind}{hint}") from None
    return raw
