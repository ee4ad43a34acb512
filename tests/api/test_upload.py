"""CSV upload of sensor data: POST /api/v1/sensors/<id>/data/upload and FlexMeasures'
/api/v3_0/sensors/<id>/data/upload. The same rules as the JSON POST; a bad file stores
nothing and its error names the line and column."""

import io

import pytest
from sqlalchemy import func, select

from bvp.data.models import TimedBelief

# Amsterdam, 15-minute sensor in kW (tests/api/conftest.py)
GOOD = (
    "event_start,value [W]\n"
    "2024-06-01T00:00:00+02:00,1500\n"
    "2024-06-01T00:15:00+02:00,\n"
    "2024-06-01T00:30:00+02:00,2500\n"
)


def upload(caller, sensor_id, text, name="file", url=None, **form):
    data = {**form, name: (io.BytesIO(text.encode()), "readings.csv", "text/csv")}
    return caller.post(
        url or f"/api/v1/sensors/{sensor_id}/data/upload",
        data=data,
        content_type="multipart/form-data",
    )


def stored(db) -> list[tuple]:
    rows = db.execute(
        select(TimedBelief.event_start, TimedBelief.event_value).order_by(TimedBelief.event_start)
    )
    return [(start.isoformat(), value) for start, value in rows]


def test_a_csv_file_is_stored_in_the_sensors_unit_and_read_back(as_, world, db, redis):
    user = as_("user")
    response = upload(user, world["north"]["sensor"], GOOD)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert (result["rows"], result["empty_values"], result["created"]) == (3, 1, 2)
    assert result["forecasting_jobs"]  # new data: forecasts follow, as after a JSON POST
    assert stored(db) == [
        ("2024-05-31T22:00:00+00:00", 1.5),
        ("2024-05-31T22:30:00+00:00", 2.5),
    ]


def test_uploading_the_same_file_again_stores_nothing(as_, world, db, redis):
    user = as_("user")
    upload(user, world["north"]["sensor"], GOOD)
    again = upload(user, world["north"]["sensor"], GOOD).get_json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert again["forecasting_jobs"] == []
    assert db.scalar(select(func.count()).select_from(TimedBelief)) == 2


def test_local_times_need_a_declared_time_zone(as_, world, db, redis):
    naive = "event_start,value\n2024-06-01 00:00,1\n2024-06-01 00:15,2\n"
    user = as_("user")
    refused = upload(user, world["north"]["sensor"], naive, unit="kW")
    assert refused.status_code == 422
    assert "line 2, column 'event_start'" in refused.get_json()["errors"]["file"][0]
    assert "no UTC offset" in refused.get_json()["errors"]["file"][0]
    declared = upload(user, world["north"]["sensor"], naive, unit="kW", timezone="Europe/Amsterdam")
    assert declared.status_code == 200, declared.get_json()
    assert stored(db)[0] == ("2024-05-31T22:00:00+00:00", 1.0)


@pytest.mark.parametrize(
    ("text", "form", "field", "reason"),
    [
        (GOOD.replace(",2500", ",lots"), {}, "file", "line 4, column 'value [W]': 'lots'"),
        (GOOD.replace("00:30:00+02", "00:31:00+02"), {}, "file", "line 4, column 'value [W]'"),
        (GOOD + "2024-06-01T00:00:00+02:00,7\n", {}, "file", "line 5: a second value"),
        (GOOD.replace("value [W]", "value"), {}, "unit", "give the values' unit"),
        (GOOD, {"unit": "°C"}, "unit", ""),
        (GOOD.replace("[W]", "[W],extra"), {}, "file", "line 1: expected 2 columns"),
        ("", {}, "file", "the file is empty"),
        (GOOD, {"timezone": "Mars/Olympus"}, "timezone", ""),
        (GOOD, {"prior": "2024-06-02T00:00:00"}, "prior", ""),
    ],
)
def test_a_bad_file_or_field_stores_nothing_and_names_where(
    as_, world, db, redis, text, form, field, reason
):
    response = upload(as_("user"), world["north"]["sensor"], text, **form)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors, errors
    assert reason in errors[field][0]
    assert stored(db) == []


def test_the_file_is_required_and_viewers_cannot_upload(as_, world, db, redis):
    sensor = world["north"]["sensor"]
    missing = as_("user").post(
        f"/api/v1/sensors/{sensor}/data/upload", data={}, content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]
    assert upload(as_("viewer"), sensor, GOOD).status_code == 403
    assert upload(as_("user", "south"), sensor, GOOD).status_code == 404
    assert stored(db) == []


def test_a_prior_sets_when_the_values_were_known(as_, world, db, redis):
    prior = "2024-06-02T08:00:00+02:00"
    upload(as_("user"), world["north"]["sensor"], GOOD, prior=prior)
    times = db.scalars(select(TimedBelief.belief_time).distinct()).all()
    assert [t.isoformat() for t in times] == ["2024-06-02T06:00:00+00:00"]


def test_flexmeasures_v3_upload_takes_several_files_in_the_sensors_unit(as_, world, db, redis):
    user = as_("user")
    sensor = world["north"]["sensor"]
    first = "event_start,value\n2024-06-01T00:00:00+02:00,1.5\n"
    second = "event_start,value\n2024-06-01T00:15:00+02:00,2.5\n"
    data = {
        "uploaded-files": [
            (io.BytesIO(first.encode()), "a.csv", "text/csv"),
            (io.BytesIO(second.encode()), "b.csv", "text/csv"),
        ],
        "belief-time-measured-instantly": "True",
    }
    url = f"/api/v3_0/sensors/{sensor}/data/upload"
    response = user.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "PROCESSED"
    assert stored(db) == [("2024-05-31T22:00:00+00:00", 1.5), ("2024-05-31T22:15:00+00:00", 2.5)]
    end_of_event = db.scalar(select(func.min(TimedBelief.belief_time)))
    assert end_of_event.isoformat() == "2024-05-31T22:15:00+00:00"  # measured instantly


def test_flexmeasures_v3_upload_with_one_bad_file_stores_none(as_, world, db, redis):
    good = "event_start,value\n2024-06-01T00:00:00+02:00,1.5\n"
    bad = "event_start,value\n2024-06-01T00:15:00+02:00,broken\n"
    data = {
        "uploaded-files": [
            (io.BytesIO(good.encode()), "a.csv", "text/csv"),
            (io.BytesIO(bad.encode()), "b.csv", "text/csv"),
        ]
    }
    url = f"/api/v3_0/sensors/{world['north']['sensor']}/data/upload"
    response = as_("user").post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert (
        "line 2, column 'value': 'broken'" in response.get_json()["errors"]["uploaded-files[1]"][0]
    )
    assert stored(db) == []


def test_a_file_sent_as_a_plain_form_field_is_refused_naming_it(as_, world, db, redis):
    sensor = world["north"]["sensor"]
    v1 = as_("user").post(
        f"/api/v1/sensors/{sensor}/data/upload",
        data={"file": GOOD},
        content_type="multipart/form-data",
    )
    assert v1.status_code == 422 and "Not a file" in v1.get_json()["errors"]["file"][0]
    v3 = as_("user").post(
        f"/api/v3_0/sensors/{sensor}/data/upload",
        data={"uploaded-files": "{}"},
        content_type="multipart/form-data",
    )
    assert v3.status_code == 422, v3.get_json()
    assert "uploaded-files[0]" in v3.get_json()["errors"]
    assert stored(db) == []
