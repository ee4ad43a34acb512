"""Account isolation through every API route: a matrix of roles x routes x own/other.

Every route of the app under /api (and /healthcheck) must be listed in MATRIX below, so a
new route fails ``test_every_api_route_is_classified`` until someone writes down who may
call it. Each entry says, per scope, the status each caller gets, in the order of ROLES.
The callers are users of account "north" (and an anonymous client); "own" targets
north's things, "other" south's, "self" the caller themself.

The rules, from README (API) and bvp/api/auth.py: anonymous is 401 everywhere but the
public routes; another account's thing is 404, never 403 and never 200 (admins excepted:
they see every account); a role that may not write is 403 on its own account's things
(read-only viewers may not post data, users and viewers may not manage structure), and
the check of the role comes after the lookup, so a refusal never tells that another
account's thing exists. List routes never show another account's things to non-admins.
Every refused request leaves the database as it was.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from bvp.config import app_settings
from bvp.data.beliefs import save_beliefs
from bvp.data.db import get_engine
from bvp.data.models import Asset, DataSource, Sensor, User
from bvp.data.models.accounts import roles_named
from bvp.data.models.api_clients import create_client
from bvp.forecasting.enqueue import enqueue_forecasts
from bvp.metrics.records import SensorQuality
from tests.api.conftest import PASSWORD, PASSWORD_HASH

ROLES = ("admin", "account-admin", "user", "viewer", "anonymous")
HIDDEN, SHOWN = "hidden", "shown"  # list routes: another account's things absent / present
START, END = "2024-06-01T00:00:00Z", "2024-06-01T02:00:00Z"
MONTH = "2024-05"
# Tables whose rows a refused request must leave as they were (auth_token changes with
# every caller's fresh token, so it is left out).
GUARDED_TABLES = (
    "account",
    "asset",
    "sensor",
    "user",
    "user_roles",
    "api_client",
    "data_source",
    "timed_belief",
    "forecast_outbox",
)


@dataclass
class Target:
    role: str
    scope: str  # "own", "other" or "self"
    caller_id: int | None

    @property
    def account(self) -> str:
        return "south" if self.scope == "other" else "north"


@dataclass
class Context:
    """What the cases build their requests from; fresh things are committed at once."""

    app: object
    db: object
    world: dict
    jobs: dict[str, str] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.counter)}"

    def sensor(self, account: str) -> int:
        return self.world[account]["sensor"]

    def fresh_asset(self, account: str) -> int:
        asset = Asset(
            name=self.unique("asset"), asset_type="pv", account_id=self.world[account]["account"]
        )
        return self._added(asset)

    def fresh_sensor(self, account: str) -> int:
        sensor = Sensor(
            name=self.unique("sensor"),
            unit="kW",
            event_resolution=timedelta(minutes=15),
            asset_id=self.world[account]["asset"],
        )
        return self._added(sensor)

    def fresh_user(self, account: str) -> int:
        user = User(
            email=f"{self.unique('colleague')}@{account}.example",
            password_hash=PASSWORD_HASH,
            account_id=self.world[account]["account"],
            roles=roles_named(self.db, ["user"]),
        )
        return self._added(user)

    def fresh_client(self, user_id: int) -> str:
        user = self.db.get(User, user_id)
        client, _ = create_client(self.db, user, "matrix", self.app.config["SECRET_KEY"])
        self.db.commit()
        return client.client_id

    def _added(self, thing) -> int:
        self.db.add(thing)
        self.db.commit()
        return thing.id

    def owner(self, kind: str, key) -> str:
        """The name of the account that owns a thing, read from the database."""
        queries = {
            "account": "SELECT name FROM account WHERE id = :key",
            "user": 'SELECT a.name FROM "user" u JOIN account a ON a.id = u.account_id '
            "WHERE u.id = :key",
            "asset": "SELECT a.name FROM asset s JOIN account a ON a.id = s.account_id "
            "WHERE s.id = :key",
            "sensor": "SELECT a.name FROM sensor s JOIN asset t ON t.id = s.asset_id "
            "JOIN account a ON a.id = t.account_id WHERE s.id = :key",
            "client": 'SELECT a.name FROM api_client c JOIN "user" u ON u.id = c.user_id '
            "JOIN account a ON a.id = u.account_id WHERE c.client_id = :key",
        }
        with get_engine().connect() as connection:
            return connection.scalar(text(queries[kind]), {"key": key})


Build = Callable[[Context, Target], tuple[str, dict | None]]


@dataclass(frozen=True)
class Case:
    method: str
    rule: str  # as in the app's url_map
    build: Build  # -> (url, JSON body or None)
    expect: dict[str, tuple]  # scope -> one outcome per role, in the order of ROLES
    listed: tuple[str, Callable] | None = None  # (kind, response JSON -> keys) for lists
    placed: tuple[str, Callable] | None = None  # (kind, response JSON -> key) for creates
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule}{' ' + self.label if self.label else ''}"


def get(url: str) -> Build:
    return lambda ctx, t: (url, None)


def ids(key: str = "id") -> Callable:
    return lambda body: {item[key] for item in body}


def sensor_url(suffix: str = "", prefix: str = "/api/v1/sensors") -> Build:
    return lambda ctx, t: (f"{prefix}/{ctx.sensor(t.account)}{suffix}", None)


def post_data_body(ctx, t):
    body = {"start": START, "duration": "PT30M", "values": [1.0, 2.0], "unit": "kW"}
    return f"/api/v1/sensors/{ctx.sensor(t.account)}/data", body


def fm_post_data_body(ctx, t):
    body = {"start": START, "duration": "PT30M", "values": [3.0, 4.0], "unit": "kW"}
    return f"/api/v3_0/sensors/{ctx.sensor(t.account)}/data", body


@dataclass
class Multipart:
    """A multipart body: a CSV file under ``field``, and form fields."""

    field: str
    csv: str
    fields: dict = field(default_factory=dict)

    def form(self) -> dict:
        return {**self.fields, self.field: (io.BytesIO(self.csv.encode()), "data.csv")}


CSV = "event_start,value [kW]\n2024-06-01T00:00:00Z,5\n2024-06-01T00:15:00Z,6\n"


def upload_body(ctx, t):
    return f"/api/v1/sensors/{ctx.sensor(t.account)}/data/upload", Multipart("file", CSV)


def fm_upload_body(ctx, t):
    url = f"/api/v3_0/sensors/{ctx.sensor(t.account)}/data/upload"
    return url, Multipart("uploaded-files", CSV)


def user_target(ctx, t) -> int:
    if t.scope == "self":
        return t.caller_id or ctx.world["north"]["users"]["user"]
    return ctx.fresh_user(t.account)


def client_target(ctx, t) -> str:
    if t.scope == "self":
        return ctx.fresh_client(t.caller_id or ctx.world["north"]["users"]["user"])
    return ctx.fresh_client(ctx.fresh_user(t.account))


ALL_READ = (200, 200, 200, 200, 401)
OTHER_404 = (200, 404, 404, 404, 401)
LIST_OTHER = (SHOWN, HIDDEN, HIDDEN, HIDDEN, 401)
PUBLIC = (200, 200, 200, 200, 200)

#       roles:  admin, account-admin, user, viewer, anonymous
MATRIX = [
    # -- public: no token needed, nothing of an account in them
    Case("GET", "/healthcheck", get("/healthcheck"), {"own": PUBLIC}),
    Case("GET", "/api/v1/health", get("/api/v1/health"), {"own": PUBLIC}),
    Case("GET", "/api/v1/openapi.json", get("/api/v1/openapi.json"), {"own": PUBLIC}),
    Case("GET", "/api/v1/docs", get("/api/v1/docs"), {"own": PUBLIC}),
    Case(
        "GET",
        "/api/v1/docs/assets/<path:name>",
        get("/api/v1/docs/assets/swagger-ui-bundle.js"),
        {"own": PUBLIC},
    ),
    Case("GET", "/api/", get("/api/"), {"own": PUBLIC}),
    Case(
        "POST",
        "/api/v1/auth/token",
        lambda ctx, t: (
            "/api/v1/auth/token",
            {
                "email": f"{'user' if t.role == 'anonymous' else t.role}@north.example",
                "password": PASSWORD,
            },
        ),
        {"own": (201, 201, 201, 201, 201)},
    ),
    Case(
        "POST",
        "/api/requestAuthToken",
        lambda ctx, t: (
            "/api/requestAuthToken",
            {
                "email": f"{'user' if t.role == 'anonymous' else t.role}@north.example",
                "password": PASSWORD,
            },
        ),
        {"own": PUBLIC},
    ),
    # -- tokens and Hawk clients: one's own; admins manage everyone's clients
    Case("DELETE", "/api/v1/auth/token", get("/api/v1/auth/token"), {"self": (204,) * 4 + (401,)}),
    Case(
        "GET",
        "/api/v1/clients",
        get("/api/v1/clients"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("client", ids("client_id")),
    ),
    Case("POST", "/api/v1/clients", get("/api/v1/clients"), {"self": (201,) * 4 + (401,)}),
    Case(
        "DELETE",
        "/api/v1/clients/<client_id>",
        lambda ctx, t: (f"/api/v1/clients/{client_target(ctx, t)}", None),
        {
            "self": (204, 204, 204, 204, 401),
            "own": (204, 404, 404, 404, 401),  # a colleague's client: theirs to revoke
            "other": (204, 404, 404, 404, 401),
        },
    ),
    # -- accounts and users
    Case(
        "GET",
        "/api/v1/accounts",
        get("/api/v1/accounts"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("account", ids()),
    ),
    Case(
        "POST",
        "/api/v1/accounts",
        lambda ctx, t: ("/api/v1/accounts", {"name": ctx.unique("account")}),
        {"own": (201, 403, 403, 403, 401)},
    ),
    Case(
        "GET",
        "/api/v1/accounts/<int:account_id>",
        lambda ctx, t: (f"/api/v1/accounts/{ctx.world[t.account]['account']}", None),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/users",
        get("/api/v1/users"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("user", ids()),
    ),
    Case(
        "POST",
        "/api/v1/users",
        lambda ctx, t: (
            "/api/v1/users",
            {
                "email": f"{ctx.unique('new')}@example.org",
                "password": "a long enough password",
                "roles": ["viewer"],
                "account_id": ctx.world[t.account]["account"],
            },
        ),
        # An account admin naming another account gets the user in their own (placed).
        {"own": (201, 201, 403, 403, 401), "other": (201, 201, 403, 403, 401)},
        placed=("user", lambda body: body["id"]),
    ),
    Case(
        "GET",
        "/api/v1/users/<int:user_id>",
        lambda ctx, t: (f"/api/v1/users/{user_target(ctx, t)}", None),
        {
            "self": ALL_READ,
            "own": (200, 200, 404, 404, 401),  # users and viewers know only themselves
            "other": OTHER_404,
        },
    ),
    Case(
        "PATCH",
        "/api/v1/users/<int:user_id>",
        # Roles as they are for oneself (a caller who demoted themself would spoil the
        # next rows), "viewer" for others.
        lambda ctx, t: (
            f"/api/v1/users/{user_target(ctx, t)}",
            {"roles": [t.role if t.scope == "self" and t.role != "anonymous" else "viewer"]},
        ),
        {
            "self": (200, 200, 403, 403, 401),  # own password only (tests/api/test_users.py)
            "own": (200, 200, 404, 404, 401),
            "other": OTHER_404,
        },
    ),
    # -- assets
    Case(
        "GET",
        "/api/v1/assets",
        get("/api/v1/assets"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("asset", ids()),
    ),
    Case(
        "POST",
        "/api/v1/assets",
        lambda ctx, t: (
            "/api/v1/assets",
            {
                "name": ctx.unique("asset"),
                "asset_type": "pv",
                "account_id": ctx.world[t.account]["account"],
            },
        ),
        {"own": (201, 201, 403, 403, 401), "other": (201, 201, 403, 403, 401)},
        placed=("asset", lambda body: body["id"]),
    ),
    Case(
        "GET",
        "/api/v1/assets/<int:asset_id>",
        lambda ctx, t: (f"/api/v1/assets/{ctx.world[t.account]['asset']}", None),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "PATCH",
        "/api/v1/assets/<int:asset_id>",
        lambda ctx, t: (f"/api/v1/assets/{ctx.fresh_asset(t.account)}", {"asset_type": "wind"}),
        {"own": (200, 200, 403, 403, 401), "other": OTHER_404},
    ),
    Case(
        "DELETE",
        "/api/v1/assets/<int:asset_id>",
        lambda ctx, t: (f"/api/v1/assets/{ctx.fresh_asset(t.account)}", None),
        {"own": (204, 204, 403, 403, 401), "other": (204, 404, 404, 404, 401)},
    ),
    # -- sensors
    Case(
        "GET",
        "/api/v1/sensors",
        get("/api/v1/sensors"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("sensor", ids()),
    ),
    Case(
        "POST",
        "/api/v1/sensors",
        lambda ctx, t: (
            "/api/v1/sensors",
            {
                "name": ctx.unique("sensor"),
                "unit": "kW",
                "event_resolution": "PT15M",
                "asset_id": ctx.world[t.account]["asset"],
            },
        ),
        # Another account's asset is as unknown as a missing one: 422 "Unknown asset".
        {"own": (201, 201, 403, 403, 401), "other": (201, 422, 403, 403, 401)},
        placed=("sensor", lambda body: body["id"]),
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>",
        sensor_url(),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "PATCH",
        "/api/v1/sensors/<int:sensor_id>",
        lambda ctx, t: (f"/api/v1/sensors/{ctx.fresh_sensor(t.account)}", {"timezone": "UTC"}),
        {"own": (200, 200, 403, 403, 401), "other": OTHER_404},
    ),
    Case(
        "PATCH",
        "/api/v1/sensors/<int:sensor_id>",
        lambda ctx, t: (
            f"/api/v1/sensors/{ctx.fresh_sensor('north')}",
            {"asset_id": ctx.world[t.account]["asset"]},
        ),
        # Moving an own sensor onto another account's asset: that asset is unknown.
        {"own": (200, 200, 403, 403, 401), "other": (200, 422, 403, 403, 401)},
        label="moved to an asset",
    ),
    Case(
        "DELETE",
        "/api/v1/sensors/<int:sensor_id>",
        lambda ctx, t: (f"/api/v1/sensors/{ctx.fresh_sensor(t.account)}", None),
        {"own": (204, 204, 403, 403, 401), "other": (204, 404, 404, 404, 401)},
    ),
    # -- sensor data, forecasts, jobs, export, metrics
    Case(
        "POST",
        "/api/v1/sensors/<int:sensor_id>/data",
        post_data_body,
        {"own": (200, 200, 200, 403, 401), "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>/data",
        sensor_url(f"/data?start={START}&end={END}"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "POST",
        "/api/v1/sensors/<int:sensor_id>/data/upload",
        upload_body,
        {"own": (200, 200, 200, 403, 401), "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>/stats",
        sensor_url(f"/stats?start={START}&end={END}"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>/forecasts",
        sensor_url(f"/forecasts?start={START}&end={END}"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>/jobs",
        sensor_url("/jobs"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/sensors/<int:sensor_id>/model",
        sensor_url("/model"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "POST",
        "/api/v1/sensors/<int:sensor_id>/model/selection",
        sensor_url("/model/selection"),
        {"own": (202, 202, 202, 403, 401), "other": (202, 404, 404, 404, 401)},
    ),
    Case(
        "GET",
        "/api/v1/jobs/<job_id>",
        lambda ctx, t: (f"/api/v1/jobs/{ctx.jobs[t.account]}", None),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/beliefs",
        lambda ctx, t: (f"/api/v1/beliefs?sensor={ctx.sensor(t.account)}", None),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v1/beliefs",
        get("/api/v1/beliefs"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("sensor", lambda body: {b["sensor_id"] for b in body["beliefs"]}),
        label="every sensor",
    ),
    Case(
        "GET",
        "/api/v1/metrics/monthly",
        get(f"/api/v1/metrics/monthly?month={MONTH}"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("sensor", lambda body: {row["sensor_id"] for row in body["quality"]}),
    ),
    # -- FlexMeasures v3 compatibility: the same rules
    Case(
        "GET",
        "/api/v3_0/sensors",
        get("/api/v3_0/sensors"),
        {"own": ALL_READ, "other": LIST_OTHER},
        listed=("sensor", ids()),
    ),
    Case(
        "GET",
        "/api/v3_0/sensors/<int:sensor_id>",
        sensor_url(prefix="/api/v3_0/sensors"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "POST",
        "/api/v3_0/sensors/<int:sensor_id>/data",
        fm_post_data_body,
        {"own": (200, 200, 200, 403, 401), "other": OTHER_404},
    ),
    Case(
        "POST",
        "/api/v3_0/sensors/<int:sensor_id>/data/upload",
        fm_upload_body,
        {"own": (200, 200, 200, 403, 401), "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v3_0/sensors/<int:sensor_id>/data",
        sensor_url(f"/data?start={START}&duration=PT2H", prefix="/api/v3_0/sensors"),
        {"own": ALL_READ, "other": OTHER_404},
    ),
    Case(
        "POST",
        "/api/v3_0/sensors/<int:sensor_id>/forecasts/trigger",
        lambda ctx, t: (
            f"/api/v3_0/sensors/{ctx.sensor(t.account)}/forecasts/trigger",
            {"start": START, "duration": "PT6H"},
        ),
        {"own": (200, 200, 200, 403, 401), "other": OTHER_404},
    ),
    Case(
        "GET",
        "/api/v3_0/sensors/<int:sensor_id>/forecasts/<forecast_job:job_id>",
        lambda ctx, t: (
            f"/api/v3_0/sensors/{ctx.sensor(t.account)}/forecasts/{ctx.jobs[t.account]}",
            None,
        ),
        {"own": (202, 202, 202, 202, 401), "other": (202, 404, 404, 404, 401)},  # 202: queued
    ),
]


def api_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api") or rule.rule == "/healthcheck"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_api_route_is_classified(app):
    classified = {(case.method, case.rule) for case in MATRIX}
    unclassified = api_routes(app) - classified
    assert not unclassified, f"add these routes to MATRIX with who may call them: {unclassified}"
    assert not classified - api_routes(app), "MATRIX lists routes the app does not have"


def test_every_documented_operation_is_classified(app):
    """The OpenAPI document and the url_map agree, so the matrix covers what clients see."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    as_openapi = {(m, re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", r)) for m, r in api_routes(app)}
    assert documented <= as_openapi, documented - as_openapi


def test_routes_naming_a_thing_are_tried_on_another_accounts_thing():
    """A route with an id in its path says what happens to another account's thing, and
    for non-admins that is never a 403: a refusal must not tell that the thing exists."""
    public = {"/healthcheck", "/api/v1/health", "/api/v1/docs/assets/<path:name>"}
    for case in MATRIX:
        assert all(len(outcomes) == len(ROLES) for outcomes in case.expect.values()), case.id
        if "<" in case.rule and case.rule not in public:
            assert "other" in case.expect, case.id
            if not case.label:  # labelled variants target an own thing (see their note)
                assert 403 not in case.expect["other"][1:4], case.id


def fingerprint() -> dict[str, str]:
    """A digest of every guarded table's rows, to prove a refused request changed nothing."""
    with get_engine().connect() as connection:
        return {
            table: connection.scalar(
                text(
                    f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                    f'FROM "{table}" t'
                )
            )
            for table in GUARDED_TABLES
        }


@pytest.fixture
def matrix_context(app, db, world, redis) -> Context:
    """The world, plus data, a queued job and stored metrics on each account's sensor,
    and a Hawk client of each account's user (so lists have something to leak)."""
    ctx = Context(app, db, world)
    meter = DataSource(name="meter", type="importer")
    db.add(meter)
    db.flush()
    settings = app_settings(app).jobs
    origin = datetime(2024, 6, 1, 2, tzinfo=UTC)
    for account in ("north", "south"):
        sensor = world[account]["sensor"]
        events = pd.date_range(START, END, freq="15min", inclusive="left")
        save_beliefs(
            db,
            {
                "event_start": events,
                "belief_time": events + pd.Timedelta("15min"),
                "event_value": range(len(events)),
            },
            sensor_id=sensor,
            source_id=meter.id,
        )
        db.add(
            SensorQuality(
                month=MONTH,
                sensor_id=sensor,
                account_id=world[account]["account"],
                timezone="UTC",
                month_start=datetime(2024, 5, 1, tzinfo=UTC),
                month_end=datetime(2024, 6, 1, tzinfo=UTC),
                expected=2976,
                received=2976,
                completeness=100.0,
                gaps=0,
                longest_gap_seconds=0.0,
                revisions=0,
            )
        )
        db.commit()
        ctx.jobs[account] = enqueue_forecasts(settings, {sensor: origin})[0]
        ctx.fresh_client(world[account]["users"]["user"])
    return ctx


class Callers:
    """One token per role of "north", made once; a case that revokes it gets it renewed."""

    def __init__(self, app, as_):
        self.app, self.as_, self.tokens = app, as_, {}

    def __call__(self, role: str):
        if role == "anonymous":
            return self.app.test_client()
        if role not in self.tokens:
            self.tokens[role] = self.as_(role, "north")
        return self.tokens[role]

    def forget(self, role: str) -> None:
        self.tokens.pop(role, None)


def call(ctx: Context, callers: Callers, case: Case, target: Target):
    """The response, and whether the guarded tables changed while it was made (reads are
    not checked: that would double the test's time for what the write checks show)."""
    url, body = case.build(ctx, target)  # fresh targets are made (and committed) first
    send = getattr(callers(target.role), case.method.lower())
    before = fingerprint() if case.method != "GET" else None
    if isinstance(body, Multipart):
        response = send(url, data=body.form(), content_type="multipart/form-data")
    else:
        response = send(url, json=body) if body is not None else send(url)
    if case.method == "DELETE" and case.rule == "/api/v1/auth/token":
        callers.forget(target.role)
    return response, before is not None and fingerprint() != before


def outcome_problems(ctx: Context, callers: Callers, case: Case, world) -> list[str]:
    wrong = []
    for scope, outcomes in case.expect.items():
        for role, expected in zip(ROLES, outcomes, strict=True):
            target = Target(role, scope, world["north"]["users"].get(role))
            where = f"{case.id}: {role} on {scope}"
            response, changed = call(ctx, callers, case, target)
            status = response.status_code
            wanted = 200 if expected in (HIDDEN, SHOWN) else expected
            if status != wanted:
                wrong.append(f"{where}: {status}, expected {wanted}: {response.get_data()[:150]}")
                continue
            if status >= 400 and changed:
                wrong.append(f"{where}: refused with {status} but changed the database")
            if status >= 400 and not {"status", "message"} <= set(response.get_json() or {}):
                wrong.append(f"{where}: the error is not BVP's JSON error body")
            if expected in (HIDDEN, SHOWN):
                kind, keys = case.listed
                owners = {ctx.owner(kind, key) for key in keys(response.get_json())}
                if ("south" in owners) != (expected == SHOWN):
                    wrong.append(f"{where}: the list shows things of {owners}, {expected}")
            if case.placed and status in (200, 201):
                kind, key = case.placed
                owner = ctx.owner(kind, key(response.get_json()))
                home = target.account if role == "admin" else "north"
                if owner != home:
                    wrong.append(f"{where}: created in {owner}, expected in {home}")
    return wrong


def test_the_matrix(matrix_context, app, as_, world):
    """Every cell of MATRIX, in one world (cases only change fresh things of their own);
    every wrong cell is reported, not just the first."""
    callers = Callers(app, as_)
    wrong = []
    for case in MATRIX:
        try:
            wrong += outcome_problems(matrix_context, callers, case, world)
        except Exception as error:  # report the other cases too
            wrong.append(f"{case.id}: {type(error).__name__}: {error}")
    assert not wrong, "\n".join(wrong)
