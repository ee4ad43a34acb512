"""``local_dir``: a drop folder that people or other systems put files into."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from bvp.ingestion.fetchers.base import (
    FetchContext,
    FetchError,
    ListingFetcher,
    ListingOptions,
    RemoteFile,
    limited,
)
from bvp.ingestion.raw_store import StoredFile, file_sha256


class LocalDirOptions(ListingOptions):
    path: str
    recursive: bool = False
    parallel: int = Field(1, ge=1, le=32)  # a local disk gains nothing from more


class LocalDirFetcher(ListingFetcher):
    """Files are known by name and content hash: a changed file is a new version."""

    Options = LocalDirOptions

    def list_remote(self, context: FetchContext) -> list[RemoteFile]:
        folder = Path(self.options.path).expanduser()
        if not folder.is_dir():
            raise FetchError(f"drop folder {folder} does not exist or is not a folder")
        found = folder.rglob("*") if self.options.recursive else folder.iterdir()
        return [
            RemoteFile(path.name, str(path), file_sha256(str(path)))
            for path in sorted(found)
            if path.is_file() and not path.name.startswith(".") and self.pattern.search(path.name)
        ]

    def download(self, context: FetchContext, remote: RemoteFile) -> StoredFile:
        with open(remote.location, "rb") as stream:
            chunks = iter(lambda: stream.read(1 << 20), b"")
            limit = context.http.max_file_bytes
            return context.store.place(
                context.source_id, remote.name, context.now, limited(chunks, limit, remote.name)
            )
