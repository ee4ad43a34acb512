"""GET /api/v1/beliefs: keyset pages that skip nothing and repeat nothing, even mid-write."""

import time
from datetime import timedelta

import numpy as np
import pandas as pd
from sqlalchemy import create_engine
from sqlalchemy.orm import Session as OrmSession

from bvp.data.beliefs import save_beliefs
from bvp.data.models.data_sources import get_or_create_source

START = pd.Timestamp("2024-06-01T00:00Z")


def write(session, sensor_id, source_id, n, offset=0, value=1.0):
    events = pd.date_range(START + timedelta(minutes=15 * offset), periods=n, freq="15min")
    save_beliefs(
        session,
        {"event_start": events, "event_value": np.full(n, value)},
        sensor_id=sensor_id,
        source_id=source_id,
        belief_time=(START + timedelta(days=30)).to_pydatetime(),
    )


def export_all(caller, **query):
    """Follow `next` links; return every exported row and the last cursor."""
    rows, params = [], {"limit": 100, **query}
    url = "/api/v1/beliefs"
    while True:
        page = caller.get(url, query_string=params).get_json()
        rows += page["beliefs"]
        if not page["next"]:
            return rows, page["cursor"]
        url, params = page["next"], None


def export_settled(caller, expected: int, **query):
    """Every row once the export hands out ``expected`` of them, following the cursor.
    Rows wait while any older transaction on the server is open, in any database: another
    test run's, for a moment."""
    rows, cursor = export_all(caller, **query)
    deadline = time.monotonic() + 30
    while len(rows) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        more, cursor = export_all(caller, **({"cursor": cursor} if cursor else query))
        rows += more
    return rows, cursor


def keys(rows):
    return [(r["sensor_id"], r["event_start"], r["source_id"]) for r in rows]


def test_pages_hand_out_every_belief_once(as_, db, world):
    source = get_or_create_source(db, "meter", "user").id
    write(db, world["north"]["sensor"], source, 150)
    db.commit()
    write(db, world["north"]["energy"], source, 100)
    db.commit()
    rows, cursor = export_settled(as_("viewer"), 250)
    assert len(rows) == 250 and len(set(keys(rows))) == 250
    assert rows[0]["event_start"] == "2024-06-01T00:00:00+00:00"
    nothing_new = as_("viewer").get("/api/v1/beliefs", query_string={"cursor": cursor})
    assert nothing_new.get_json()["beliefs"] == []


def test_a_slow_writer_is_not_skipped_by_a_fast_one(app, as_, db, world):
    source = get_or_create_source(db, "meter", "user").id
    db.commit()
    engine = create_engine(app.config["DATABASE_URL"])
    slow = OrmSession(engine)
    try:
        write(slow, world["north"]["sensor"], source, 10)  # written, not yet committed
        write(db, world["north"]["energy"], source, 20)  # a later writer, committed first
        db.commit()
        first, cursor = export_all(as_("viewer"))
        assert first == []  # the slow writer's rows could still come before these
        slow.commit()
        rest, _ = export_settled(as_("viewer"), 30, **({"cursor": cursor} if cursor else {}))
    finally:
        slow.close()
        engine.dispose()
    assert len(rest) == 30
    assert [r["sensor_id"] for r in rest[:10]] == [world["north"]["sensor"]] * 10


def test_a_changed_value_is_handed_out_again_later(as_, db, world):
    source = get_or_create_source(db, "meter", "user").id
    write(db, world["north"]["sensor"], source, 5)
    db.commit()
    rows, cursor = export_settled(as_("viewer"), 5)
    write(db, world["north"]["sensor"], source, 1, value=9.0)  # same key, new value
    db.commit()
    again, _ = export_settled(as_("viewer"), 1, cursor=cursor)
    assert len(rows) == 5 and [r["event_value"] for r in again] == [9.0]


def test_export_stays_within_the_account(as_, db, world):
    source = get_or_create_source(db, "meter", "user").id
    write(db, world["south"]["sensor"], source, 5)
    db.commit()
    assert export_settled(as_("admin", "south"), 5)[0] != []
    assert export_all(as_("account-admin", "north"))[0] == []
    other = as_("viewer").get("/api/v1/beliefs", query_string={"sensor": world["south"]["sensor"]})
    assert other.status_code == 404


def test_updated_since_and_bad_cursor(as_, db, world):
    source = get_or_create_source(db, "meter", "user").id
    write(db, world["north"]["sensor"], source, 5)
    db.commit()
    later = as_("viewer").get(
        "/api/v1/beliefs", query_string={"updated_since": "2999-01-01T00:00:00Z"}
    )
    assert later.get_json()["beliefs"] == []
    bad = as_("viewer").get("/api/v1/beliefs", query_string={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and "cursor" in bad.get_json()["errors"]
