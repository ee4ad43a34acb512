"""A local HTTP server that plays the external data sources, for tests and the demo.

It serves a directory laid out like ``ingestion/fixtures/`` and reads the files on every
request (tests copy the fixtures to a temporary directory and change them while it runs)::

    GET  /prices/                           Apache-style HTML directory listing
    GET  /prices/index.json                 {"files": [{name, url, sha256, size, updated}]}
    GET  /prices/files/<NAME>               the file (Content-Length, ETag, Last-Modified)
    GET  /weather/resource/observations.json   Socrata-like SODA query ($limit, $offset,
                                               $order, $where on updated_at)
    POST /hooks/<anything>                  records the JSON body in ``server.webhooks``

Faults can be queued per path (``server.fail("/prices/index.json", "503", "truncate")``):
``"500"``/``"503"`` (or any other 4xx/5xx code), ``"truncate"`` (full Content-Length, half the
body, then close), ``"slow:SECONDS"`` (delay, then answer normally) and ``"down"`` (close
without answering). Each queued fault is consumed by one request to that exact path.

Run by hand: ``python ingestion/fixture_server.py [--root ingestion/fixtures] [--port 8765]``.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_ROOT = Path(__file__).resolve().parent / "fixtures"

SODA_DEFAULT_LIMIT = 1000
SODA_MAX_LIMIT = 50000
SODA_DEFAULT_ORDER = "observed_at"

PRICES_README = (
    b"Day-ahead electricity prices for the SERF node, one CSV per month.\n"
    b"Columns: delivery_start,price,published_at (price in USD/MWh).\n"
    b"Files are published daily around 12:00 local time.\n"
)

_WHERE_RE = re.compile(r"^\s*updated_at\s*(>=|>)\s*'([^']*)'\s*$")
_ORDER_TERM_RE = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_]*)\s*(?:\s(ASC|DESC))?\s*$", re.IGNORECASE)
_SLOW_RE = re.compile(r"^slow:(\d+(?:\.\d+)?)$")
_STATUS_RE = re.compile(r"^[45]\d\d$")


def _check_fault(fault: str) -> str:
    if fault in ("truncate", "down") or _SLOW_RE.match(fault) or _STATUS_RE.match(fault):
        return fault
    raise ValueError(
        f"unknown fault {fault!r}: use '500', '503' (any 4xx/5xx), 'truncate', 'slow:SECONDS'"
        " or 'down'"
    )


def _iso_z(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive means UTC, as Socrata's floating time)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sort_key(value: Any) -> tuple:
    """Orders nulls first, then numbers, timestamps, other strings; never compares mixed types."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, float(value))
    ts = _parse_ts(value)
    if ts is not None:
        return (2, ts)
    return (3, str(value))


class SodaError(Exception):
    def __init__(self, message: str, error_code: str = "query.compiler.malformed") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


Response = tuple[int, dict[str, str], bytes]


def _json_response(status: int, payload: Any) -> Response:
    body = json.dumps(payload).encode("utf-8")
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


def _not_found(path: str) -> Response:
    return _json_response(404, {"error": "not found", "path": path})


class FixtureServer:
    """The fixture sources on 127.0.0.1, in a daemon thread; also a context manager."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        self.requests: list[tuple[str, str, dict]] = []
        self.webhooks: list[dict] = []
        self._lock = threading.Lock()
        self._faults: dict[str, deque[str]] = defaultdict(deque)
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._httpd.daemon_threads = True
        host, bound_port = self._httpd.server_address[:2]
        self.port: int = bound_port
        self.url: str = f"http://{host}:{bound_port}"

    # -- control ---------------------------------------------------------------------------

    def fail(self, path: str, *faults: str) -> None:
        """Queue faults for the next requests to exactly ``path`` (no query), one per request."""
        checked = [_check_fault(f) for f in faults]
        with self._lock:
            self._faults[path].extend(checked)

    def start(self) -> FixtureServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fixture-server-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # idle keep-alive connections would otherwise linger
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- bookkeeping used by the handler ---------------------------------------------------

    def _record(self, method: str, path: str, params: dict[str, str]) -> str | None:
        with self._lock:
            self.requests.append((method, path, params))
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _add_webhook(self, body: dict) -> None:
        with self._lock:
            self.webhooks.append(body)

    def _track(self, conn: socket.socket, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # -- routes ----------------------------------------------------------------------------

    def _route(self, method: str, path: str, raw_path: str, params: dict, body: bytes) -> Response:
        if method in ("GET", "HEAD"):
            if path == "/prices/":
                return self._prices_listing()
            if path == "/prices/index.json":
                return self._prices_index()
            if raw_path.startswith("/prices/files/"):
                return self._prices_file(unquote(raw_path[len("/prices/files/") :]), path)
            if path == "/weather/resource/observations.json":
                return self._soda(params)
        if method == "POST" and path.startswith("/hooks/"):
            try:
                payload = json.loads(body.decode("utf-8")) if body else None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return _json_response(400, {"error": f"invalid JSON body: {exc}"})
            self._add_webhook(payload)
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"ok"
        return _not_found(path)

    def _price_files(self) -> list[Path]:
        folder = self.root / "prices"
        if not folder.is_dir():
            return []
        return sorted(
            (p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
            key=lambda p: p.name,
        )

    def _prices_listing(self) -> Response:
        rows = [
            '<tr><td valign="top">&nbsp;</td><td><a href="../">Parent Directory</a></td>'
            '<td>&nbsp;</td><td align="right">  - </td></tr>',
            '<tr><td valign="top">&nbsp;</td><td><a href="files/README.txt">README.txt</a></td>'
            '<td align="right">2016-07-01 09:00  </td>'
            f'<td align="right">{len(PRICES_README)}</td></tr>',
        ]
        for p in self._price_files():
            if p.name == "README.txt":
                continue
            st = p.stat()
            modified = datetime.fromtimestamp(int(st.st_mtime), UTC).strftime("%Y-%m-%d %H:%M")
            name = html.escape(p.name)
            rows.append(
                f'<tr><td valign="top">&nbsp;</td><td><a href="files/{name}">{name}</a></td>'
                f'<td align="right">{modified}  </td><td align="right">{st.st_size}</td></tr>'
            )
        page = "\n".join(
            [
                '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">',
                "<html>",
                " <head>",
                "  <title>Index of /prices</title>",
                " </head>",
                " <body>",
                "<h1>Index of /prices</h1>",
                "  <table>",
                '   <tr><th valign="top">&nbsp;</th><th><a href="?C=N;O=D">Name</a></th>'
                '<th><a href="?C=M;O=A">Last modified</a></th>'
                '<th><a href="?C=S;O=A">Size</a></th></tr>',
                '   <tr><th colspan="4"><hr></th></tr>',
                *rows,
                '   <tr><th colspan="4"><hr></th></tr>',
                "</table>",
                "<address>Apache/2.4.18 (Ubuntu) Server at 127.0.0.1 Port 80</address>",
                "</body></html>",
                "",
            ]
        )
        return 200, {"Content-Type": "text/html;charset=UTF-8"}, page.encode("utf-8")

    def _prices_index(self) -> Response:
        files = []
        for p in self._price_files():
            if p.name == "README.txt":
                continue
            data = p.read_bytes()
            files.append(
                {
                    "name": p.name,
                    "url": f"files/{p.name}",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "updated": _iso_z(p.stat().st_mtime),
                }
            )
        return _json_response(200, {"files": files})

    def _prices_file(self, name: str, path: str) -> Response:
        if not name or ".." in name or "/" in name or "\\" in name or name.startswith("."):
            return _not_found(path)
        target = self.root / "prices" / name
        if not target.is_file():
            if name == "README.txt":
                headers = {
                    "Content-Type": "text/plain; charset=utf-8",
                    "Last-Modified": "Fri, 01 Jul 2016 15:00:00 GMT",
                }
                return 200, headers, PRICES_README
            return _not_found(path)
        data = target.read_bytes()
        content_type = (
            "text/csv; charset=utf-8" if name.endswith(".csv") else "application/octet-stream"
        )
        headers = {
            "Content-Type": content_type,
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
            "Last-Modified": formatdate(target.stat().st_mtime, usegmt=True),
        }
        return 200, headers, data

    def _soda(self, params: dict[str, str]) -> Response:
        source = self.root / "weather" / "observations.json"
        if not source.is_file():
            return _json_response(
                404, {"message": "Dataset not found", "errorCode": "not_found", "data": {}}
            )
        try:
            records = self._soda_query(json.loads(source.read_bytes()), params)
        except SodaError as exc:
            return _json_response(
                400,
                {"message": exc.message, "errorCode": exc.error_code, "data": {"query": params}},
            )
        return (
            200,
            {"Content-Type": "application/json; charset=utf-8"},
            json.dumps(records).encode("utf-8"),
        )

    @staticmethod
    def _soda_query(records: list[dict], params: dict[str, str]) -> list[dict]:
        def _int_param(name: str, default: int) -> int:
            raw = params.get(name)
            if raw is None:
                return default
            try:
                value = int(raw.strip())
            except ValueError:
                raise SodaError(f"Invalid {name}: {raw!r} is not an integer") from None
            if value < 0:
                raise SodaError(f"Invalid {name}: must not be negative")
            return value

        known: set[str] = set()
        for rec in records:
            known.update(rec)
        limit = min(_int_param("$limit", SODA_DEFAULT_LIMIT), SODA_MAX_LIMIT)
        offset = _int_param("$offset", 0)

        where = params.get("$where")
        if where is not None:
            match = _WHERE_RE.match(where)
            if not match:
                raise SodaError(f"Could not parse $where: {where!r}")
            op, literal = match.groups()
            bound = _parse_ts(literal)
            if bound is None:
                raise SodaError(f"Could not parse timestamp literal: {literal!r}")
            kept = []
            for rec in records:
                ts = _parse_ts(rec.get("updated_at"))
                if ts is not None and (ts > bound if op == ">" else ts >= bound):
                    kept.append(rec)
            records = kept

        order = params.get("$order", SODA_DEFAULT_ORDER)
        terms = []
        for term in order.split(","):
            match = _ORDER_TERM_RE.match(term)
            if not match:
                raise SodaError(f"Could not parse $order: {order!r}")
            terms.append((match.group(1), (match.group(2) or "ASC").upper() == "DESC"))
        for field, _desc in terms:
            if field != ":id" and known and field not in known:
                raise SodaError(f"No such column: {field}", "query.soql.no-such-column")
        rows = list(enumerate(records))  # (position in the dataset, record); ":id" is position
        for field, desc in reversed(terms):  # stable sorts, least significant key first
            if field == ":id":
                rows.sort(key=lambda row: row[0], reverse=desc)
            else:
                rows.sort(key=lambda row, f=field: _sort_key(row[1].get(f)), reverse=desc)

        return [rec for _pos, rec in rows[offset : offset + limit]]


def _make_handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FixtureServer/1.0"
        timeout = 60  # idle keep-alive connections are dropped after this

        def setup(self) -> None:
            super().setup()
            server._track(self.connection, opened=True)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                server._track(self.connection, opened=False)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _handle(self) -> None:
            method = self.command
            split = urlsplit(self.path)
            raw_path = split.path
            path = unquote(raw_path)
            params = dict(parse_qsl(split.query, keep_blank_values=True))
            body = self._read_body()
            fault = server._record(method, path, params)

            if fault == "down":
                self.close_connection = True
                return
            if fault is not None and fault.startswith("slow:"):
                time.sleep(float(fault.split(":", 1)[1]))
                fault = None
            if fault is not None and _STATUS_RE.match(fault):
                status = int(fault)
                reason = self.responses.get(status, ("Error",))[0]
                response: Response = (
                    status,
                    {"Content-Type": "text/plain; charset=utf-8"},
                    f"{status} {reason} (injected fault)\n".encode(),
                )
            else:
                try:
                    response = server._route(method, path, raw_path, params, body)
                except Exception as exc:  # a fixture bug should surface as a 500, not a hang
                    response = _json_response(500, {"error": f"{type(exc).__name__}: {exc}"})

            status, headers, payload = response
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            if fault == "truncate":
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method == "HEAD":
                return
            if fault == "truncate":
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the ingestion fixtures on 127.0.0.1.")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="fixtures directory")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    args = parser.parse_args()
    server = FixtureServer(args.root, args.port).start()
    # Stop cleanly on SIGTERM too (a demo script terminating the server), not only on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Serving {args.root} at {server.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
