"""A user's own fetcher, loaded from the manifest by its dotted path."""

from __future__ import annotations

from bvp.ingestion.fetchers.base import FetchContext, ListingFetcher, ListingOptions, RemoteFile


class HostileOptions(ListingOptions):
    names: list[str]


class HostileFetcher(ListingFetcher):
    """Offers whatever names it is told to, as a compromised source might."""

    Options = HostileOptions

    def list_remote(self, context: FetchContext) -> list[RemoteFile]:
        return [RemoteFile(name, f"memory://{name}", "v1") for name in self.options.names]

    def download(self, context: FetchContext, remote: RemoteFile):
        content = b"time,value\n2024-01-01T00:00:00Z,1\n"
        return context.store.place(context.source_id, remote.name, context.now, [content])
