"""``http_index``: files linked from an index page, or listed in a JSON index."""

from __future__ import annotations

import logging
from dataclasses import replace
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import unquote, urlsplit

import httpx

from bvp.ingestion.fetchers.base import (
    FetchContext,
    FetchError,
    ListingFetcher,
    ListingOptions,
    RemoteFile,
    limited,
    run_bounded,
)
from bvp.ingestion.http import describe_error, http_client, retrying, safe_url
from bvp.ingestion.raw_store import StoredFile

log = logging.getLogger(__name__)
VERSION_FIELDS = ("sha256", "checksum", "etag", "updated", "modified", "last_modified")


class HttpIndexOptions(ListingOptions):
    index_url: str
    check_versions: bool = True  # HTML listings: HEAD each file for its ETag / Last-Modified
    format: Literal["auto", "html", "json"] = "auto"
    files_key: str = "files"  # JSON: where the list of files is


class HttpIndexFetcher(ListingFetcher):
    Options = HttpIndexOptions

    def list_remote(self, context: FetchContext) -> list[RemoteFile]:
        url = self.options.index_url
        try:
            with http_client(context.http) as client:
                for attempt in retrying(context.http):
                    with attempt:
                        response = client.get(url)
                        response.raise_for_status()
        except httpx.HTTPError as error:
            raise FetchError(f"index {safe_url(url)}: {describe_error(error)}") from error
        kind = self.options.format
        if kind == "auto":
            is_json = "json" in response.headers.get("content-type", "") or url.endswith(".json")
            kind = "json" if is_json else "html"
        listed = self._from_json(response) if kind == "json" else self._from_html(response)
        seen, files = set(), []
        for remote in listed:
            if remote.name and remote.name not in seen and self.pattern.search(remote.name):
                seen.add(remote.name)
                files.append(remote)
        if kind == "html" and self.options.check_versions:
            files = list(
                run_bounded(lambda f: self._with_version(context, f), files, self.parallel)
            )
        return files

    def _with_version(self, context: FetchContext, remote: RemoteFile) -> RemoteFile:
        """An HTML listing says only names: ask each file's ETag (or Last-Modified and size)
        with a HEAD request, so that a file that changed under the same name is fetched
        again. A server that does not answer HEAD leaves the file known by name only."""
        try:
            with http_client(context.http) as client:
                response = client.head(remote.location)
                response.raise_for_status()
        except httpx.HTTPError as error:
            log.info("no version for %s: %s", remote.name, describe_error(error))
            return remote
        headers = response.headers
        version = headers.get("etag") or "|".join(
            filter(None, [headers.get("last-modified"), headers.get("content-length")])
        )
        return replace(remote, version=version or None)

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
            raise FetchError(f"index {safe_url(response.url)} is not JSON: {error}") from None
        entries = body.get(self.options.files_key, []) if isinstance(body, dict) else body
        if not isinstance(entries, list):
            raise FetchError(
                f"index {safe_url(response.url)}: no list of files under {self.options.files_key!r}"
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
