"""What every fetcher does: find what the source has that the raw store does not, bring
only that in, atomically, and say what it brought.

Downloads may run in a bounded thread pool; the registry is written by the caller, in
its own thread and transaction, from the ``Fetched`` results.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bvp.ingestion.fields import Regex
from bvp.ingestion.http import HttpSettings, describe_error
from bvp.ingestion.raw_store import RawStore, StoredFile, UnsafeNameError, check_file_name

log = logging.getLogger(__name__)


class FetcherOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListingOptions(FetcherOptions):
    pattern: Regex = ".*"  # file names to fetch (re.search)
    parallel: int = Field(4, ge=1, le=32)  # downloads at once


class FetchError(RuntimeError):
    """A file (or listing) could not be brought in; the message says which and why."""


class FileTooLargeError(FetchError):
    pass


@dataclass(frozen=True)
class HeldFile:
    name: str
    remote_version: str | None
    checksum: str


@dataclass
class FetchContext:
    source_id: str
    store: RawStore
    held: list[HeldFile]
    now: datetime  # the month folder new files go to
    since: datetime | None = None  # only what changed after this, where the source can tell
    watermark: str | None = None  # the newest update already fetched (paged APIs)
    http: HttpSettings = field(default_factory=HttpSettings)
    on_progress: Callable[[int], None] = lambda n: None  # bytes or files done

    def holds(self, name: str, version: str | None) -> bool:
        """Held: same name and version (or, without a version, the same name)."""
        return any(
            h.name == name and (version is None or version in (h.remote_version, h.checksum))
            for h in self.held
        )

    def holds_checksum(self, checksum: str) -> bool:
        return any(h.checksum == checksum for h in self.held)


@dataclass(frozen=True)
class Fetched:
    name: str
    remote: str
    stored: StoredFile
    remote_version: str | None = None
    watermark: str | None = None


@dataclass
class FetchReport:
    fetched: list[Fetched] = field(default_factory=list)
    skipped: int = 0  # already held
    errors: list[str] = field(default_factory=list)


class Fetcher(ABC):
    """Subclass with an ``Options`` model and ``fetch``; options are checked on creation."""

    Options: ClassVar[type[FetcherOptions]] = FetcherOptions

    def __init__(self, options: dict[str, Any]):
        self.options = self.Options.model_validate(options)

    @abstractmethod
    def fetch(self, context: FetchContext) -> FetchReport: ...


@dataclass(frozen=True)
class RemoteFile:
    name: str
    location: str  # URL or path
    version: str | None = None  # what changes when the content does (ETag, hash, mtime)


class ListingFetcher(Fetcher):
    """Sources that list their files: download those not held, ``parallel`` at a time."""

    Options: ClassVar[type[ListingOptions]] = ListingOptions

    def __init__(self, options: dict[str, Any]):
        super().__init__(options)
        self.parallel = self.options.parallel
        self.pattern = re.compile(self.options.pattern)

    @abstractmethod
    def list_remote(self, context: FetchContext) -> list[RemoteFile]: ...

    @abstractmethod
    def download(self, context: FetchContext, remote: RemoteFile) -> StoredFile: ...

    def fetch(self, context: FetchContext) -> FetchReport:
        report = FetchReport()
        wanted = []
        for remote in self.list_remote(context):
            try:
                check_file_name(remote.name)
            except UnsafeNameError as error:
                report.errors.append(str(error))
                continue
            if context.holds(remote.name, remote.version):
                report.skipped += 1
            else:
                wanted.append(remote)

        def one(remote: RemoteFile) -> Fetched | str:
            try:
                stored = self.download(context, remote)
            except Exception as error:  # one bad file must not stop the others
                reason = describe_error(error)
                log.warning("%s: could not fetch %s: %s", context.source_id, remote.name, reason)
                return f"{remote.name}: {reason}"
            context.on_progress(1)
            return Fetched(remote.name, remote.location, stored, remote.version)

        for outcome in run_bounded(one, wanted, self.parallel):
            if isinstance(outcome, Fetched):
                report.fetched.append(outcome)
            else:
                report.errors.append(outcome)
        return report


def run_bounded(work: Callable, items: Iterable, parallel: int) -> Iterator:
    """``work`` over ``items`` with at most ``parallel`` at once, results in item order."""
    items = list(items)
    if parallel <= 1 or len(items) <= 1:
        yield from map(work, items)
        return
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="bvp-fetch") as pool:
        yield from pool.map(work, items)


def limited(chunks: Iterable[bytes], limit: int, name: str) -> Iterator[bytes]:
    """Pass chunks through, refusing to store more than ``limit`` bytes."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise FileTooLargeError(f"{name} is larger than the {limit:,} bytes allowed")
        yield chunk
