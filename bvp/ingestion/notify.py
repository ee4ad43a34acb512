"""Run summaries to a webhook (Slack-compatible JSON). Never fails the run; never logs
the webhook's URL, which is a secret (whoever has it can post to the channel)."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO: keep it quiet so webhook URLs stay secret.
logging.getLogger("httpx").setLevel(logging.WARNING)


def post_summary(url: str, text: str, summary: dict, timeout_seconds: float = 10.0) -> bool:
    """POST ``{"text": ..., "summary": {...}}``; True if the webhook took it."""
    if not url:
        return False
    try:
        response = httpx.post(url, json={"text": text, "summary": summary}, timeout=timeout_seconds)
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        log.warning(
            "run summary webhook answered HTTP %s; run unaffected", error.response.status_code
        )
        return False
    except Exception as error:  # unreachable, or a URL that cannot be used: never the run's end
        log.warning("run summary webhook unreachable (%s); run unaffected", type(error).__name__)
        return False
    return True
