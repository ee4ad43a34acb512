"""An ingestion run killed (SIGKILL) in the middle of a download, in a process of its own.

The source is a loopback HTTP server of this test's: a JSON index listing one CSV, and
the CSV, which it can serve only half of and then hold the connection open, so that the
run is provably mid-download when it is killed. Both runs are real ``flask ingest run``
processes on the private PostgreSQL, as cron would start them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from bvp.data.models import Account, TimedBelief
from bvp.ingestion.load_runs import LoadRun
from bvp.ingestion.raw_store import PARTIAL_SUFFIX, RawStore
from bvp.ingestion.registry import IMPORTED, DatafileRecord
from tests.faults.conftest import log_of, process_env, wait_for

SOURCE = "hourly_prices"
NAME = "prices_2024_06.csv"
HOURS = 72
EVENTS = pd.date_range("2024-06-01T00:00Z", periods=HOURS, freq="1h")
CONTENT = (
    "delivery_start,price\n"
    + "".join(f"{t.isoformat()},{40 + i % 24}.5\n" for i, t in enumerate(EVENTS))
).encode()


class StallingSource:
    """A JSON index listing ``NAME``, and ``NAME`` itself on 127.0.0.1. While ``stalling``,
    a download gets the headers (full Content-Length) and half the body, then nothing more
    until ``release()``: a download in progress for as long as the test likes."""

    def __init__(self) -> None:
        self.stalling = True
        self.half_sent = threading.Event()
        self.released = threading.Event()
        self.downloads = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/index.json":
                    entry = {
                        "name": NAME,
                        "url": f"files/{NAME}",
                        "sha256": hashlib.sha256(CONTENT).hexdigest(),
                    }
                    self._send("application/json", json.dumps({"files": [entry]}).encode())
                elif self.path == f"/files/{NAME}":
                    with source._lock:
                        source.downloads += 1
                    self._send_file()
                else:
                    self.send_error(404)

            def _send(self, content_type: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_file(self) -> None:
                if not source.stalling:
                    self._send("text/csv", CONTENT)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(CONTENT)))
                self.end_headers()
                self.wfile.write(CONTENT[: len(CONTENT) // 2])
                self.wfile.flush()
                source.half_sent.set()
                source.released.wait(60)  # bounded: never a thread that outlives the test
                self.close_connection = True  # the rest is never sent: the client is gone

        return Handler

    def release(self) -> None:
        self.stalling = False
        self.released.set()

    def __enter__(self) -> StallingSource:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def stalling_source() -> Iterator[StallingSource]:
    with StallingSource() as source:
        yield source


def write_manifest(path: Path, source_url: str) -> None:
    path.write_text(
        f"""
sensors:
  price:
    account: Kill account
    asset: Market node
    asset_type: market
    name: Day-ahead price
    unit: EUR/MWh
    resolution: PT1H
sources:
  - id: {SOURCE}
    title: Hourly prices
    description: One CSV per month, listed in a JSON index
    tags: [prices]
    fetcher:
      name: http_index
      options:
        index_url: {source_url}/index.json
        parallel: 1
    importers:
      - name: csv
        files: '\\.csv$'
        options:
          timestamp_column: delivery_start
          columns:
            price: {{sensor: price, unit: EUR/MWh}}
"""
    )


def store_files(root: Path) -> list[str]:
    """Every file under the raw store's folder, partial or not, relative paths."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def beliefs(pg) -> tuple[int, int]:
    """Beliefs stored, and distinct events among them."""
    with pg() as session:
        return session.execute(
            select(func.count(), func.count(TimedBelief.event_start.distinct()))
        ).one()


def registry(pg) -> list[tuple[str, str, str, int | None]]:
    with pg() as session:
        rows = session.execute(
            select(
                DatafileRecord.name,
                DatafileRecord.status,
                DatafileRecord.checksum,
                DatafileRecord.rows_read,
            ).where(DatafileRecord.source_id == SOURCE)
        )
        return [tuple(row) for row in rows]


def run_statuses(pg) -> list[str]:
    with pg() as session:
        return list(session.scalars(select(LoadRun.status).order_by(LoadRun.id)))


def advisory_locks(pg) -> int:
    """Advisory locks held in the private database (only ingestion's source locks)."""
    with pg() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )


@pytest.mark.timeout(120)
def test_a_run_killed_mid_download_imports_nothing_and_the_next_run_imports_the_file_once(
    pg, postgres_server, redis_server, processes, stalling_source, tmp_path
):
    with pg() as session:
        session.add(Account(name="Kill account", timezone="Europe/Amsterdam"))
        session.commit()
    manifest, raw = tmp_path / "manifest.yaml", tmp_path / "raw"
    write_manifest(manifest, stalling_source.url)
    env = process_env(
        postgres_server,
        redis_server,
        BVP_INGEST_MANIFEST=str(manifest),
        BVP_INGEST_STORE_URL=str(raw),
        BVP_INGEST_SMOKETESTS=str(tmp_path / "no-smoketests.yaml"),
        BVP_INGEST_WEBHOOK_URL="",
        BVP_INGEST_HTTP_ATTEMPTS="1",
    )
    command = [sys.executable, "-m", "flask", "ingest", "run", SOURCE]

    killed = processes.start("ingest-killed", command, env)
    wait_for(
        lambda: (
            (stalling_source.half_sent.is_set() and store_files(raw)) or killed.poll() is not None
        ),
        60,
        "the first run is downloading the file (half of it sent, a partial file in the store)",
    )
    assert killed.poll() is None, log_of(killed)
    assert advisory_locks(pg) == 1  # the run holds its source's lock
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(10)
    assert killed.returncode == -signal.SIGKILL

    # Nothing of the half file is imported, registered or kept as a complete file.
    assert beliefs(pg) == (0, 0)
    assert registry(pg) == []
    assert RawStore(str(raw)).files() == []
    leftovers = store_files(raw)
    assert leftovers and all(p.endswith(PARTIAL_SUFFIX) for p in leftovers), leftovers
    assert run_statuses(pg) == ["running"]  # the crashed run stays visible, never "succeeded"
    # PostgreSQL ends the dead process's session, and with it the source's lock.
    wait_for(lambda: advisory_locks(pg) == 0, 10, "the killed run's lock is released")

    stalling_source.release()
    again = processes.start("ingest-again", command, env)
    try:
        again.wait(90)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the second run did not end:\n{log_of(again)}") from None
    output = log_of(again)
    assert again.returncode == 0, output
    assert "another run is ingesting it" not in output
    assert "1 files fetched, 1 imported, 0 failed; 72 rows read, 72 beliefs created" in output

    # The file is imported exactly once, whole; the killed run's partial file is gone.
    assert beliefs(pg) == (HOURS, HOURS)
    checksum = hashlib.sha256(CONTENT).hexdigest()
    assert registry(pg) == [(NAME, IMPORTED, checksum, HOURS)]
    (stored,) = RawStore(str(raw)).files()
    assert (raw / stored).read_bytes() == CONTENT
    assert store_files(raw) == [stored]
    assert stalling_source.downloads == 2
    assert run_statuses(pg) == ["running", "succeeded"]
