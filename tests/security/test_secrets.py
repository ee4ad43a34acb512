"""Secrets: stored only hashed or encrypted, expiring and revocable, never replayed, never
logged, and no cheaper to probe for an unknown email than for a known one."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import argon2
import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken
from mohawk import Sender
from sqlalchemy import func, select, text

from bvp.data.db import get_engine
from bvp.data.models import ApiClient, AuthToken, TimedBelief, User
from bvp.data.models.api_clients import client_key
from bvp.data.passwords import verify_password
from bvp.data.utc import utcnow
from bvp.ingestion.notify import post_summary
from tests.api.conftest import PASSWORD
from tests.ui.conftest import csrf_token

REPO = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "new-password-7f3b9c2e"
CHANGED_PASSWORD = "changed-password-e81d4a60"
WRONG_PASSWORD = "wrong-guess-0c9d5e1a"


def database_text() -> str:
    """Every row of every table in the database, as text."""
    with get_engine().connect() as connection:
        tables = connection.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).all()
        return "\n".join(
            row
            for table in tables
            for row in connection.scalars(text(f'SELECT t::text FROM "{table}" t'))
        )


def basic(email: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


def hawk(credentials: dict, url: str, method: str, payload=None, **sender_options) -> dict:
    """Headers of a Hawk-signed request (and its body)."""
    content = json.dumps(payload) if payload is not None else ""
    content_type = "application/json" if payload is not None else ""
    sender = Sender(
        credentials, url, method, content=content, content_type=content_type, **sender_options
    )
    headers = {"Authorization": sender.request_header}
    if payload is not None:
        headers["Content-Type"] = content_type
    return {"headers": headers, "data": content or None}


def hawk_credentials(body: dict) -> dict:
    return {"id": body["client_id"], "key": body["key"], "algorithm": "sha256"}


# -- stored only as hashes, or encrypted


def test_passwords_tokens_and_hawk_keys_are_stored_hashed_or_encrypted(app, as_, db, world):
    """Made through the API, then read from the rows: Argon2id, SHA-256, Fernet."""
    created = as_("account-admin").post(
        "/api/v1/users",
        json={"email": "new@north.example", "password": NEW_PASSWORD, "roles": ["user"]},
    )
    assert created.status_code == 201
    user_id = created.get_json()["id"]
    stored = db.scalar(select(User.password_hash).where(User.id == user_id))
    assert stored.startswith("$argon2id$") and verify_password(stored, NEW_PASSWORD)

    changed = as_("account-admin").patch(
        f"/api/v1/users/{user_id}", json={"password": CHANGED_PASSWORD}
    )
    assert changed.status_code == 200
    db.expire_all()
    stored = db.scalar(select(User.password_hash).where(User.id == user_id))
    assert stored.startswith("$argon2id$") and verify_password(stored, CHANGED_PASSWORD)

    client = app.test_client()
    issued = client.post(
        "/api/v1/auth/token", json={"email": "new@north.example", "password": CHANGED_PASSWORD}
    )
    token = issued.get_json()["token"]
    hashes = db.scalars(select(AuthToken.token_hash).where(AuthToken.user_id == user_id)).all()
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]

    made = client.post("/api/v1/clients", headers={"Authorization": f"Bearer {token}"}, json={})
    key = made.get_json()["key"]
    row = db.scalar(select(ApiClient).where(ApiClient.client_id == made.get_json()["client_id"]))
    assert row.key_encrypted.startswith("gAAAA")  # a Fernet token (AES-CBC + HMAC)
    assert client_key(row, app.config["SECRET_KEY"]) == key  # Hawk needs it back
    other_server = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"another key").digest()))
    with pytest.raises(InvalidToken):
        other_server.decrypt(row.key_encrypted.encode())  # keyed by this server's secret

    everything = database_text()
    for secret in (NEW_PASSWORD, CHANGED_PASSWORD, token, key):
        assert secret not in everything


# -- tokens expire and can be revoked


def test_a_token_stops_working_when_its_lifetime_is_over(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "TOKEN_LIFETIME_SECONDS", 60)
    client = app.test_client()
    issued = client.post(
        "/api/v1/auth/token", json={"email": "admin@north.example", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {issued.get_json()['token']}"}
    assert client.get("/api/v1/sensors", headers=headers).status_code == 200

    later = utcnow() + timedelta(seconds=61)  # the clock moves past the lifetime
    monkeypatch.setattr("bvp.data.models.auth_tokens.utcnow", lambda: later)
    assert client.get("/api/v1/sensors", headers=headers).status_code == 401
    assert client.get("/api/v3_0/sensors", headers=headers).status_code == 401
    assert client.get("/rq/0/data/queues.json", headers=headers).status_code == 401


def test_a_revoked_token_is_refused_everywhere_and_others_stay_valid(as_, redis):
    revoked, other = as_("admin"), as_("admin")
    assert revoked.delete("/api/v1/auth/token").status_code == 204
    for url in ("/api/v1/sensors", "/api/v3_0/sensors", "/rq/0/data/queues.json"):
        assert revoked.get(url).status_code == 401, url
    assert other.get("/api/v1/sensors").status_code == 200  # only that token ended
    assert other.get("/rq/0/data/queues.json").status_code == 200


# -- Hawk: a nonce is used once


def test_a_hawk_nonce_is_accepted_once(app, as_, db, world, redis, monkeypatch):
    credentials = hawk_credentials(as_("user").post("/api/v1/clients", json={}).get_json())
    sensor = world["north"]["sensor"]
    url = f"http://localhost/api/v1/sensors/{sensor}/data"
    payload = {"start": "2024-06-01T00:00:00Z", "resolution": "PT15M", "values": [5.0]}
    payload["unit"] = "kW"
    nonce, stamp = "nonce-4b1d", str(int(time.time()))
    request = hawk(credentials, url, "POST", payload, _timestamp=stamp, nonce=nonce)
    client = app.test_client()
    assert client.post(url, **request).status_code == 200
    replayed = client.post(url, **request)
    assert replayed.status_code == 401 and "replayed" in replayed.get_json()["message"]
    # The same nonce and time on a request signed anew (another route) is refused too.
    again = hawk(
        credentials, "http://localhost/api/v1/sensors", "GET", None, _timestamp=stamp, nonce=nonce
    )
    assert client.get("/api/v1/sensors", **again).status_code == 401
    assert db.scalar(select(func.count()).select_from(TimedBelief)) == 1  # stored once

    # Without Redis there is no replay protection: refused, never let through.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    fresh = hawk(credentials, "http://localhost/api/v1/sensors", "GET")
    assert client.get("/api/v1/sensors", **fresh).status_code == 503


# -- probing for emails and guessing passwords


@pytest.fixture
def argon2_checks(monkeypatch) -> list[str]:
    """Counts every Argon2 verification, wherever it is called from."""
    checks: list[str] = []
    original = argon2.PasswordHasher.verify

    def counted(self, hash_, password):
        checks.append(hash_)
        return original(self, hash_, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted)
    return checks


def test_an_unknown_email_costs_a_password_check_like_a_known_one(
    app, db, world, redis, argon2_checks
):
    """Response times must not tell which emails have accounts: every sign-in route checks
    one Argon2 hash whether the email is known, unknown or of a deactivated user."""
    db.get(User, world["south"]["users"]["viewer"]).active = False
    db.commit()
    client = app.test_client()
    page = client.get("/dashboard/login").text

    def attempts(email: str) -> dict:
        json_body = {"email": email, "password": WRONG_PASSWORD}
        form = {**json_body, "csrf_token": csrf_token(page)}
        return {
            "API token": lambda: client.post("/api/v1/auth/token", json=json_body),
            "FlexMeasures token": lambda: client.post("/api/requestAuthToken", json=json_body),
            "dashboard sign-in": lambda: client.post("/dashboard/login", data=form),
            "/rq Basic": lambda: client.get("/rq/", headers=basic(email, WRONG_PASSWORD)),
        }

    counts = {}
    for who, email in (
        ("known", "user@north.example"),
        ("unknown", "nobody@north.example"),
        ("deactivated", "viewer@south.example"),
    ):
        for route, attempt in attempts(email).items():
            argon2_checks.clear()
            assert attempt().status_code == 401, (route, who)
            counts[route, who] = len(argon2_checks)
    assert set(counts.values()) == {1}, counts


def test_password_guessing_at_the_job_queues_is_limited_like_sign_in(app, world, monkeypatch):
    """/rq takes Basic credentials: wrong guesses count against BVP_LOGIN_RATE_LIMIT per
    address, as on the other sign-in routes; admins' other requests there do not."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    guesses = [
        client.get("/rq/", headers=basic("admin@north.example", f"guess {i}")).status_code
        for i in range(3)
    ]
    right = client.get("/rq/", headers=basic("admin@north.example", PASSWORD))
    assert guesses == [401, 401, 401] and right.status_code == 429


def test_admins_browsing_the_job_queues_are_not_limited_as_guessers(app, world, redis, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client = app.test_client()
    admin = basic("admin@north.example", PASSWORD)
    statuses = [client.get("/rq/0/data/queues.json", headers=admin).status_code for _ in range(5)]
    assert statuses == [200] * 5


# -- never logged


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(500 if "/failing/" in self.path else 200)
        self.end_headers()

    def log_message(self, *args):  # this test server's own stderr lines
        pass


@contextmanager
def webhook_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def exercise_every_secret(send, base: str, form_client=None) -> dict[str, str]:
    """Sign in, use tokens and Hawk, make clients and users, post passwords through every
    route that takes one; returns the secrets that went over the wire."""
    secrets = {"password": PASSWORD, "wrong password": WRONG_PASSWORD}
    for url in ("/api/v1/auth/token", "/api/requestAuthToken"):
        send("POST", url, json={"email": "admin@north.example", "password": WRONG_PASSWORD})
        issued = send("POST", url, json={"email": "admin@north.example", "password": PASSWORD})
        body = issued.json() if hasattr(issued, "json") and callable(issued.json) else None
        body = body or issued.get_json()
        secrets[f"token from {url}"] = body.get("token") or body["auth_token"]
    bearer = {"Authorization": f"Bearer {secrets['token from /api/v1/auth/token']}"}
    raw = {"Authorization": secrets["token from /api/requestAuthToken"]}
    send("GET", "/api/v1/sensors", headers=bearer)
    send("GET", "/api/v3_0/sensors", headers=raw)
    made = send("POST", "/api/v1/clients", headers=bearer, json={"name": "gateway"})
    made = made.json() if callable(getattr(made, "json", None)) else made.get_json()
    credentials = hawk_credentials(made)
    secrets["Hawk key"] = credentials["key"]
    # Hawk-signed: a read, a user made with a password, the same replayed, one tampered.
    send("GET", "/api/v1/sensors", **hawk(credentials, base + "/api/v1/sensors", "GET"))
    new_user = {"email": "made@north.example", "password": NEW_PASSWORD, "roles": ["viewer"]}
    secrets["password of a user made with Hawk"] = NEW_PASSWORD
    signed = hawk(credentials, base + "/api/v1/users", "POST", new_user)
    send("POST", "/api/v1/users", **signed)
    send("POST", "/api/v1/users", **signed)  # replayed
    tampered = {**new_user, "email": "other@north.example", "password": CHANGED_PASSWORD}
    secrets["password in a tampered Hawk request"] = CHANGED_PASSWORD
    send("POST", "/api/v1/users", headers=signed["headers"], data=json.dumps(tampered))
    # Bearer: a user with a password, and a password change.
    made_user = {"email": "made2@north.example", "password": NEW_PASSWORD, "roles": ["viewer"]}
    created = send("POST", "/api/v1/users", headers=bearer, json=made_user)
    created = created.json() if callable(getattr(created, "json", None)) else created.get_json()
    send(
        "PATCH",
        f"/api/v1/users/{created['id']}",
        headers=bearer,
        json={"password": CHANGED_PASSWORD},
    )
    # The job queues with Basic credentials, right and wrong.
    send("GET", "/rq/", headers=basic("admin@north.example", PASSWORD))
    send("GET", "/rq/", headers=basic("admin@north.example", WRONG_PASSWORD))
    # The dashboard's sign-in form, wrong and right.
    if form_client is not None:
        for password in (WRONG_PASSWORD, PASSWORD):
            page = form_client("GET", "/dashboard/login")
            page_text = page.text
            form_client(
                "POST",
                "/dashboard/login",
                data={
                    "email": "user@north.example",
                    "password": password,
                    "csrf_token": csrf_token(page_text),
                },
            )
    return secrets


def post_summaries(base: str) -> dict[str, str]:
    """Run summaries to a webhook that takes them, one that fails, one unreachable."""
    urls = {
        "webhook URL": f"{base}/services/T0001/B0001/ok-3a9f1c7d2e",
        "failing webhook URL": f"{base}/failing/T0002/B0002/fail-9e2d7c1a4b",
        "unreachable webhook URL": "http://127.0.0.1:1/services/T0003/B0003/gone-5c8e2a1f7d",
    }
    for url in urls.values():
        post_summary(url, "3 files imported", {"files": 3}, timeout_seconds=5)
    return urls


def assert_not_in(log: str, secrets: dict[str, str]) -> None:
    leaked = {name: value for name, value in secrets.items() if value in log}
    for url in [v for k, v in secrets.items() if k.endswith("webhook URL")]:
        if url.rsplit("/", 1)[-1] in log:  # the secret part of the path alone, too
            leaked[url] = url
    assert not leaked, f"logged: {sorted(leaked)}"


def test_secrets_never_reach_the_logs(app, world, redis, caplog):
    """With everything logged at DEBUG (SQL statements and their parameters included, as
    with BVP_SQL_ECHO), no password, token, Hawk key or webhook URL is in the log."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    client = app.test_client()

    def send(method, url, **kwargs):
        return client.open(url, method=method, **kwargs)

    secrets = exercise_every_secret(send, "http://localhost", form_client=send)
    with webhook_server() as base:
        secrets.update(post_summaries(base))
    assert "SELECT" in caplog.text and "POST" not in secrets  # the net was cast wide
    assert_not_in(caplog.text, secrets)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(log_path: Path):
    """The API as deployed (tasks: gunicorn with access and error logs), at DEBUG."""
    port = free_port()
    env = {**os.environ, "BVP_ENV": "testing", "BVP_LOG_LEVEL": "DEBUG", "BVP_SQL_ECHO": "true"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "--log-level",
        "debug",
        "bvp.app:create_app()",
    ]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/api/", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_secrets_never_reach_gunicorns_access_and_error_logs(world, tmp_path):
    """The same over HTTP through gunicorn as ./tasks runs it (its access log in the
    default format, its error log at debug, with the app's DEBUG log and SQL echo)."""
    log_path = tmp_path / "gunicorn.log"
    with gunicorn(log_path) as base, httpx.Client(base_url=base, timeout=30) as http:

        def send(method, url, data=None, **kwargs):
            if isinstance(data, str):  # a raw (signed) body, not a form
                kwargs["content"] = data
            elif data is not None:
                kwargs["data"] = data
            return http.request(method, url, **kwargs)

        secrets = exercise_every_secret(send, base, form_client=send)
    log = log_path.read_text()
    assert '"GET /api/v1/sensors HTTP/1.1" 200' in log  # access lines were written
    assert "SELECT" in log  # and the app's SQL echo
    assert_not_in(log, secrets)
