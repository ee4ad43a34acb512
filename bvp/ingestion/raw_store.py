"""The raw store: fetched files kept as they came, under ``<source>/<YYYY>_<MM>/<name>``.

A local directory by default; any fsspec URL (``s3://bucket/prefix`` with the ``s3``
extra) works the same. Files are written to ``<name>.part`` and renamed when complete,
so a file is either whole or absent: an interrupted download leaves only a ``.part``
(downloads are staged in ``<source>/.incoming/``, which the source's next fetch empties),
and nothing half-written is ever imported.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO

import fsspec

PARTIAL_SUFFIX = ".part"
INCOMING = ".incoming"  # a source's staging folder, for downloads in progress
# A file name as kept in the store: no directories, no hidden files, no control characters.
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")


class UnsafeNameError(ValueError):
    """A source offered a file name that could escape the store or hide in it."""


def check_file_name(name: str) -> str:
    if not _SAFE_NAME.match(name) or name.startswith(".") or name.endswith(PARTIAL_SUFFIX):
        raise UnsafeNameError(f"unsafe file name {name!r}: refused")
    return name


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the store's root
    checksum: str  # sha256, hex
    size: int


class RawStore:
    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.is_local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def __repr__(self) -> str:
        return f"<RawStore {self.url}>"

    def full_path(self, path: str) -> str:
        return f"{self.root}/{path}"

    def new_path(self, source_id: str, name: str, when: datetime, checksum: str) -> str:
        """Where a new file goes: the month of fetching, or a checksum folder if taken."""
        path = f"{source_id}/{when:%Y_%m}/{check_file_name(name)}"
        if self.fs.exists(self.full_path(path)) and self.checksum(path) != checksum:
            path = f"{source_id}/{when:%Y_%m}/{checksum[:12]}/{name}"
        return path

    def write(self, path: str, chunks: Iterable[bytes]) -> StoredFile:
        """Write atomically (``.part`` then rename), hashing on the way."""
        target = self.full_path(path)
        partial = target + PARTIAL_SUFFIX
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with self.fs.open(partial, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        self.fs.mv(partial, target)
        return StoredFile(path, digest.hexdigest(), size)

    def place(
        self, source_id: str, name: str, when: datetime, content: Iterable[bytes]
    ) -> StoredFile:
        """Write ``content`` to a staging name, then move it to its final place by checksum."""
        # A name of its own per download: two runs fetching the same file never share one.
        staged = self.write(
            f"{source_id}/{INCOMING}/{uuid.uuid4().hex}-{check_file_name(name)}", content
        )
        final = self.new_path(source_id, name, when, staged.checksum)
        self.fs.makedirs(self.full_path(final).rsplit("/", 1)[0], exist_ok=True)
        self.fs.mv(self.full_path(staged.path), self.full_path(final))
        return StoredFile(final, staged.checksum, staged.size)

    def discard_incoming(self, source_id: str) -> list[str]:
        """Delete what interrupted downloads left in a source's staging folder; returns
        the paths deleted.

        Each download is staged under a name of its own, so a later download of the same
        file never overwrites the ``.part`` of one that was killed (SIGKILL, a lost
        machine, cron's timeout): without this they would pile up in the store forever.
        Nothing there was ever registered, so nothing is lost. Only call it while no
        download into the source can be running: with the source's lock held
        (``bvp.ingestion.runs.source_lock``).
        """
        folder = self.full_path(f"{source_id}/{INCOMING}")
        if not self.fs.exists(folder):
            return []
        found = self.fs.find(folder)
        if found:
            self.fs.rm(found)
        return self._relative(found)

    def _relative(self, found: list[str]) -> list[str]:
        prefix = self.root.rstrip("/") + "/"
        return [p[len(prefix) :] if p.startswith(prefix) else p for p in found]

    def open(self, path: str, mode: str = "rb") -> IO:
        return self.fs.open(self.full_path(path), mode)

    def local_path(self, path: str) -> str | None:
        """A path readers can open directly (fast), when the store is on local disk."""
        return self.full_path(path) if self.is_local else None

    def exists(self, path: str) -> bool:
        return self.fs.exists(self.full_path(path))

    def checksum(self, path: str) -> str:
        digest = hashlib.sha256()
        with self.open(path) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    def files(self) -> list[str]:
        """Every complete file in the store, relative paths, sorted."""
        if not self.fs.exists(self.root):
            return []
        paths = self._relative(self.fs.find(self.root))
        return sorted(
            p for p in paths if not p.endswith(PARTIAL_SUFFIX) and f"/{INCOMING}/" not in f"/{p}"
        )

    def copy_to(self, other: RawStore, path: str) -> None:
        with self.open(path) as stream:
            other.write(path, iter(lambda: stream.read(1 << 20), b""))
