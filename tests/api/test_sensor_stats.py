"""GET /api/v1/sensors/<id>/stats: per source over its latest belief per event, the
measured summary without forecasts, the window, isolation and bad input."""

import pandas as pd
import pytest

from bvp.data.beliefs import save_beliefs
from bvp.data.models import DataSource

# Local midnight in Amsterdam: 2024-05-31T22:00Z. The sensor is a 15-minute kW sensor.
DAY = "2024-06-01T00:00:00+02:00"


def stats_url(world, account="north"):
    return f"/api/v1/sensors/{world[account]['sensor']}/stats"


def post(caller, world, values, prior, start=DAY, source=None, unit="kW"):
    body = {"start": start, "resolution": "PT15M", "values": values, "unit": unit}
    body["prior"] = prior
    if source:
        body["source"] = source
    response = caller.post(stats_url(world).replace("/stats", "/data"), json=body)
    assert response.status_code == 200, response.get_json()


@pytest.fixture
def series(as_, world, db, redis):
    """Two measuring sources and a forecaster on the north sensor:

    - the user's own posts: 1, 2, -, 4 kW from 22:00Z, then 22:15Z re-posted later as
      10,000 W: its latest beliefs, in the sensor's kW, are 1, 10, -, 4;
    - "backup meter": 6 and 8 at 22:30Z and 22:45Z, believed after the user's first post;
    - a forecaster: 100 kW for two hours from 22:00Z, with a p10 of -5 that must not count.
    """
    user = as_("user")
    post(user, world, [1, 2, None, 4], "2024-06-01T01:00:00+02:00")
    post(
        user,
        world,
        [10_000],
        "2024-06-01T03:00:00+02:00",
        start="2024-06-01T00:15:00+02:00",
        unit="W",
    )
    post(
        user,
        world,
        [6, 8],
        "2024-06-01T02:00:00+02:00",
        start="2024-06-01T00:30:00+02:00",
        source="backup meter",
    )
    model = DataSource(name="BVP", type="forecaster", model="naive-1d", version="1")
    db.add(model)
    db.flush()
    events = pd.date_range("2024-05-31T22:00Z", periods=8, freq="15min")
    for probability, value in ((0.5, 100.0), (0.1, -5.0)):
        save_beliefs(
            db,
            {"event_start": events, "event_value": [value] * 8},
            sensor_id=world["north"]["sensor"],
            source_id=model.id,
            belief_time=events[0].to_pydatetime(),
            cumulative_probability=probability,
        )
    db.commit()
    return model.id


def by_source(body):
    return {s["source"]: s for s in body["sources"]}


def test_each_source_counts_its_latest_belief_per_event_and_forecasts_are_not_measured(
    as_, world, series
):
    response = as_("viewer").get(stats_url(world))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["unit"], body["resolution"], body["start"], body["end"]) == (
        "kW",
        "PT15M",
        None,
        None,
    )
    sources = by_source(body)
    assert set(sources) == {"user@north.example", "backup meter (user@north.example)", "BVP"}
    own = sources["user@north.example"]
    # 1, 10 (the re-post replaced 2), missing, 4: three values over four slots.
    assert own["first_event_start"] == "2024-05-31T22:00:00+00:00"
    assert own["last_event_start"] == "2024-05-31T22:45:00+00:00"
    assert (own["count"], own["min"], own["max"], own["mean"]) == (3, 1.0, 10.0, 5.0)
    assert (own["slots"], own["share_missing"], own["source_type"]) == (4, 0.25, "user")
    backup = sources["backup meter (user@north.example)"]
    assert (backup["count"], backup["min"], backup["max"], backup["mean"]) == (2, 6.0, 8.0, 7.0)
    assert backup["share_missing"] == 0.0
    forecast = sources["BVP"]
    assert (forecast["count"], forecast["min"], forecast["max"]) == (8, 100.0, 100.0)
    assert (forecast["source_type"], forecast["share_missing"]) == ("forecaster", 0.0)
    # Measured: per event the newest belief of either meter, 1, 10, 6, 8; no forecast.
    measured = body["measured"]
    assert (measured["count"], measured["min"], measured["max"], measured["mean"]) == (
        4,
        1.0,
        10.0,
        6.25,
    )
    assert measured["last_event_start"] == "2024-05-31T22:45:00+00:00"
    assert measured["share_missing"] == 0.0


def test_a_window_counts_its_own_slots(as_, world, series):
    window = {"start": "2024-06-01T00:15:00+02:00", "end": "2024-06-01T01:15:00+02:00"}
    body = as_("viewer").get(stats_url(world), query_string=window).get_json()
    assert body["start"] == "2024-05-31T22:15:00+00:00"
    own = by_source(body)["user@north.example"]
    # 10 and 4 in the four slots 22:15, 22:30, 22:45, 23:00.
    assert (own["count"], own["mean"], own["slots"], own["share_missing"]) == (2, 7.0, 4, 0.5)
    measured = body["measured"]
    assert (measured["count"], measured["min"], measured["slots"]) == (3, 6.0, 4)
    assert measured["share_missing"] == 0.25
    assert by_source(body)["BVP"]["count"] == 4


def test_a_sensor_without_data_has_no_sources_and_no_measured_summary(as_, world, db):
    body = as_("viewer").get(stats_url(world)).get_json()
    assert body["sources"] == [] and body["measured"] is None


def test_another_accounts_sensor_is_not_found(as_, world, series):
    for role in ("account-admin", "user", "viewer"):
        response = as_(role, "south").get(stats_url(world))
        assert response.status_code == 404
        assert response.get_json()["message"] == f"There is no sensor {world['north']['sensor']}."
    assert as_("admin", "south").get(stats_url(world)).status_code == 200


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"start": "2024-06-01T00:00:00"}, "start", "Not a valid aware datetime."),
        ({"end": "2024-06-02 00:00"}, "end", "Not a valid aware datetime."),
        ({"start": DAY, "end": DAY}, "end", "Must be after start."),
    ],
)
def test_naive_or_backward_windows_are_422_naming_the_field(as_, world, db, query, field, reason):
    response = as_("viewer").get(stats_url(world), query_string=query)
    assert response.status_code == 422, response.get_json()
    assert reason in response.get_json()["errors"][field]


def test_the_route_is_in_the_openapi_document_with_its_errors(app, db):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    stats = paths["/api/v1/sensors/{sensor_id}/stats"]["get"]
    assert {"200", "404", "422"} <= set(stats["responses"])
    assert {p["name"] for p in stats["parameters"] if p["in"] == "query"} == {"start", "end"}
