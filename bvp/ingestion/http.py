"""HTTP for fetchers: one httpx client with timeouts, and retries with backoff (tenacity).

Retried: connection problems, timeouts, truncated bodies and 429/5xx answers. A 4xx is
the source saying no; it is not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
import tenacity

log = logging.getLogger(__name__)
RETRIED_STATUSES = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class HttpSettings:
    timeout_seconds: float = 30.0
    attempts: int = 4
    backoff_seconds: float = 1.0  # first wait; doubles per attempt, at most 30 s
    max_file_bytes: int = 2 * 1024**3

    @classmethod
    def from_config(cls, config) -> HttpSettings:
        return cls(
            timeout_seconds=float(config["INGEST_HTTP_TIMEOUT_SECONDS"]),
            attempts=int(config["INGEST_HTTP_ATTEMPTS"]),
            backoff_seconds=float(config["INGEST_HTTP_BACKOFF_SECONDS"]),
            max_file_bytes=int(config["INGEST_MAX_FILE_BYTES"]),
        )


def http_client(settings: HttpSettings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(
            settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)
        ),
        follow_redirects=True,
        headers={"User-Agent": "bvp-ingestion"},
    )


def _transient(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in RETRIED_STATUSES
    return isinstance(error, httpx.TransportError)


def retrying(settings: HttpSettings) -> tenacity.Retrying:
    """``for attempt in retrying(s): with attempt: ...`` retries transient failures."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(settings.attempts),
        wait=tenacity.wait_exponential(multiplier=settings.backoff_seconds, max=30),
        retry=tenacity.retry_if_exception(_transient),
        reraise=True,
        before_sleep=lambda state: log.warning(
            "retrying after %s (attempt %d)",
            describe_error(state.outcome.exception()),
            state.attempt_number,
        ),
    )


def safe_url(url: str | httpx.URL) -> str:
    """A URL as it may be shown and logged: without its query string or user info, which
    may hold API keys or signatures."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "(an invalid URL)"
    return str(parsed.copy_with(query=None, fragment=None, username=None, password=None))


def describe_error(error: BaseException | None) -> str:
    """A short reason, without query strings (they may hold tokens)."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code} from {safe_url(error.request.url)}"
    if isinstance(error, httpx.RequestError):
        try:
            where = safe_url(error.request.url)
        except RuntimeError:
            where = "the source"
        return f"{type(error).__name__} from {where}: {error}"
    return f"{type(error).__name__}: {error}"
