"""``paged_api``: a paged JSON API (Socrata's ``$limit/$offset/$where`` by default).

Only records updated after the newest update already fetched (the watermark, or
``--since``) are asked for; each page is saved as its own file. Pages are fetched
``parallel`` at a time, wave after wave, until a page comes back short.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC
from typing import Any

import httpx
import orjson
from pydantic import Field

from bvp.ingestion.fetchers.base import (
    FetchContext,
    Fetched,
    Fetcher,
    FetcherOptions,
    FetchError,
    FetchReport,
    run_bounded,
)
from bvp.ingestion.http import describe_error, http_client, retrying


class PagedApiOptions(FetcherOptions):
    url: str
    updated_field: str  # e.g. ":updated_at" or "updated_at"
    order: str | None = None  # a stable order; default: the updated field
    page_size: int = Field(1000, ge=1, le=50_000)
    parallel: int = Field(4, ge=1, le=16)
    max_pages: int = Field(10_000, ge=1)
    params: dict[str, str] = Field(default_factory=dict)  # e.g. {"$select": "..."}
    limit_param: str = "$limit"
    offset_param: str = "$offset"
    order_param: str = "$order"
    where_param: str = "$where"
    where_template: str = "{field} > '{since}'"
    since_format: str = "%Y-%m-%dT%H:%M:%S"  # how --since is written in the filter (UTC)
    file_prefix: str = "page"


class PagedApiFetcher(Fetcher):
    Options = PagedApiOptions

    def fetch(self, context: FetchContext) -> FetchReport:
        options = self.options
        since = _since_text(context, options.since_format)
        params = dict(options.params)
        params[options.order_param] = options.order or options.updated_field
        params[options.limit_param] = str(options.page_size)
        if since:
            where = options.where_template.format(field=options.updated_field, since=since)
            params[options.where_param] = where
        token = re.sub(r"[^0-9A-Za-z]", "", since or "") or "all"
        report = FetchReport()
        with http_client(context.http) as client:

            def page(offset: int) -> tuple[int, bytes, list]:
                query = {**params, options.offset_param: str(offset)}
                try:
                    for attempt in retrying(context.http):
                        with attempt:
                            response = client.get(options.url, params=query)
                            response.raise_for_status()
                except httpx.HTTPError as error:
                    raise FetchError(f"page at offset {offset}: {describe_error(error)}") from error
                if len(response.content) > context.http.max_file_bytes:
                    raise FetchError(f"page at offset {offset} is larger than allowed")
                try:
                    records = orjson.loads(response.content)
                except orjson.JSONDecodeError as error:
                    raise FetchError(f"page at offset {offset} is not JSON: {error}") from None
                if not isinstance(records, list):
                    raise FetchError(f"page at offset {offset} is not a JSON list of records")
                return offset, response.content, records

            offset, last_page = 0, False
            while not last_page and offset < options.page_size * options.max_pages:
                wave = [offset + i * options.page_size for i in range(options.parallel)]
                offset = wave[-1] + options.page_size
                for start, content, records in run_bounded(page, wave, options.parallel):
                    if len(records) < options.page_size:
                        last_page = True
                    if not records:
                        continue
                    self._keep(context, report, token, start, content, records)
        return report

    def _keep(
        self,
        context: FetchContext,
        report: FetchReport,
        token: str,
        start: int,
        content: bytes,
        records: list,
    ) -> None:
        checksum = hashlib.sha256(content).hexdigest()
        if context.holds_checksum(checksum):
            report.skipped += 1
            return
        name = f"{self.options.file_prefix}_since-{token}_{start:09d}.json"
        stored = context.store.place(context.source_id, name, context.now, [content])
        watermark = _newest(records, self.options.updated_field)
        report.fetched.append(Fetched(name, self.options.url, stored, checksum, watermark))
        context.on_progress(1)


def _since_text(context: FetchContext, since_format: str) -> str | None:
    """``--since`` in the API's format (UTC), else the newest update value already held."""
    if context.since is not None:
        return context.since.astimezone(UTC).strftime(since_format)
    return context.watermark


def _newest(records: list[dict[str, Any]], field: str) -> str | None:
    values = [r.get(field) for r in records if isinstance(r, dict) and r.get(field)]
    return max(map(str, values)) if values else None
