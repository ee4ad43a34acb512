"""``http_index``: files linked from an index page, or listed in a JSON index."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import Field

from bvp.ingestion.fetchers.base import (
    FetchContext,
    FetcherOptions,
    FetchError,
    ListingFetcher,
    RemoteFile,
    limited,
)
from bvp.ingestion.http import describe_error, http_client, retrying
from bvp.ingestion.raw_store import StoredFile

VERSION_FIELDS = ("sha256", "checksum", "etag", "updated", "modified", "last_modified")


class HttpIndexOptions(FetcherOptions):
    index_url: str
    pattern: str = ".*"  # file names to fetch (re.search)
    format: Literal["auto", "html", "json"] = "auto"
    files_key: str = "files"  # JSON: where the list of files is
    parallel: int = Field(4, ge=1, le=32)


class HttpIndexFetcher(ListingFetcher):
    Options = HttpIndexOptions

    def __init__(self, options):
        super().__init__(options)
        self.parallel = self.options.parallel
        self._pattern = re.compile(self.options.pattern)

    def list_remote(self, context: FetchContext) -> list[RemoteFile]:
        url = self.options.index_url
        try:
            with http_client(context.http) as client:
                for attempt in retrying(context.http):
                    with attempt:
                        response = client.get(url)
                        response.raise_for_status()
        except httpx.HTTPError as error:
            raise FetchError(f"index {url}: {describe_error(error)}") from error
        kind = self.options.format
        if kind == "auto":
            is_json = "json" in response.headers.get("content-type", "") or url.endswith(".json")
            kind = "json" if is_json else "html"
        listed = self._from_json(response) if kind == "json" else self._from_html(response)
        seen, files = set(), []
        for remote in listed:
            if remote.name and remote.name not in seen and self._pattern.search(remote.name):
                seen.add(remote.name)
                files.append(remote)
        return files

    def _from_html(self, response: httpx.Response) -> list[RemoteFile]:
        links = _Links()
        links.feed(response.text)
        base = response.url
        files = []
        for href in links.hrefs:
            url = base.join(href)
            if url.host != base.host or url.query:
                continue  # other sites and sort links are not this source's files
            name = unquote(urlsplit(str(url)).path.rsplit("/", 1)[-1])
            files.append(RemoteFile(name, str(url)))
        return files

    def _from_json(self, response: httpx.Response) -> list[RemoteFile]:
        try:
            body = response.json()
        except ValueError as error:
            raise FetchError(f"index {response.url} is not JSON: {error}") from None
        entries = body.get(self.options.files_key, []) if isinstance(body, dict) else body
        if not isinstance(entries, list):
            raise FetchError(
                f"index {response.url}: no list of files under {self.options.files_key!r}"
            )
        files = []
        for entry in entries:
            if isinstance(entry, str):
                entry = {"url": entry}
            if not isinstance(entry, dict) or not (entry.get("url") or entry.get("name")):
                continue
            url = response.url.join(entry.get("url") or entry["name"])
            name = entry.get("name") or unquote(url.path.rsplit("/", 1)[-1])
            version = next((str(entry[f]) for f in VERSION_FIELDS if entry.get(f)), None)
            files.append(RemoteFile(name, str(url), version))
        return files

    def download(self, context: FetchContext, remote: RemoteFile) -> StoredFile:
        with http_client(context.http) as client:
            for attempt in retrying(context.http):
                with attempt:
                    with client.stream("GET", remote.location) as response:
                        response.raise_for_status()
                        chunks = limited(
                            response.iter_bytes(1 << 20), context.http.max_file_bytes, remote.name
                        )
                        return context.store.place(
                            context.source_id, remote.name, context.now, chunks
                        )
        raise AssertionError("unreachable: retrying re-raises")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href and not href.startswith(("#", "mailto:", "javascript:")):
                self.hrefs.append(href)
