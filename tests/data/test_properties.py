"""Property-based tests (hypothesis) of the time-series core.

1. Any sequence of writes and re-writes of overlapping windows (``save_beliefs`` and
   ``store_posted_series``) reads back what a pure-Python model of timed beliefs says:
   the latest belief per event, ties in belief time to the higher source id.
2. Unit conversion and resampling round-trip, and conserve energy sums and rate means.
3. Time zones and DST changes never shift or drop an event; naive input is refused.

Examples are derandomized (the same ones on every run), so a failure reproduces. The
database-backed properties give each example its own new sensor: the ``db`` fixture
empties the tables only after the whole test.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from functools import cache
from unittest import mock
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bvp.data.beliefs import latest_beliefs, save_beliefs
from bvp.data.models import Account, Asset, DataSource, Sensor, TimedBelief
from bvp.data.resampling import ResolutionError, to_resolution
from bvp.data.sensor_data import PostedSeries, check_on_grid, read_series, store_posted_series
from bvp.data.units import UnitError, convert, parse_unit
from bvp.data.utc import NaiveDatetimeError, to_utc, to_utc_index
from bvp.ingestion.importers.base import ImportFileError, timestamps

PURE = settings(max_examples=200, deadline=None, derandomize=True)
WITH_DB = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ZONES = [
    "Europe/Amsterdam",
    "America/Denver",
    "Pacific/Chatham",  # +12:45/+13:45
    "Australia/Lord_Howe",  # a DST change of 30 minutes
    "Asia/Kolkata",  # +05:30, no DST
    "UTC",
    "America/St_Johns",  # -03:30/-02:30
    "Asia/Kathmandu",  # +05:45
]
QUARTER = timedelta(minutes=15)
HOUR_DIVISORS = [timedelta(minutes=m) for m in (1, 5, 10, 12, 15, 20, 30, 60)]


@cache
def offset_changes(zone: str) -> tuple[pd.Timestamp, ...]:
    """UTC instants where ``zone``'s UTC offset changes, 2021-2031 (none for Kolkata)."""
    instants = pd.date_range("2021-01-01", "2031-01-01", freq="15min", tz="UTC")
    local = instants.tz_convert(zone).tz_localize(None) - instants.tz_localize(None)
    changed = np.flatnonzero(local[1:] != local[:-1]) + 1
    return tuple(instants[changed])


@st.composite
def moments_near_dst(draw, zone: str) -> pd.Timestamp:
    """A UTC instant on the quarter-hour within a day of an offset change (or anywhere)."""
    changes = offset_changes(zone)
    if changes and draw(st.integers(0, 4)):
        anchor = changes[draw(st.integers(0, len(changes) - 1))]
        if draw(st.booleans()):  # the next local midnight: where a day-anchored grid restarts
            local = anchor.tz_convert(zone)
            anchor = (local.normalize() + pd.DateOffset(days=1)).normalize().tz_convert("UTC")
    else:
        anchor = pd.Timestamp("2021-01-01T00:00Z") + draw(st.integers(0, 3650)) * pd.Timedelta(
            days=1
        )
    return anchor + draw(st.one_of(st.integers(-8, 8), st.integers(-96, 96))) * QUARTER


def on_local_grid(events: pd.DatetimeIndex, resolution: timedelta, zone: str) -> np.ndarray:
    """check_on_grid's rule per event: time since local midnight is a whole number of steps."""
    local = events.tz_convert(zone)
    return ((local - local.normalize()) % resolution).to_numpy() == np.timedelta64(0)


def local_grid_start(instant: pd.Timestamp, resolution: timedelta, zone: str) -> pd.Timestamp:
    """The event of the sensor's grid that contains ``instant`` (as a local Timestamp)."""
    local = instant.tz_convert(zone)
    return local - (local - local.normalize()) % resolution


_names = itertools.count()


def new_sensor(db, unit: str, resolution: timedelta, zone: str) -> Sensor:
    """A fresh sensor per example, so examples never see each other's beliefs."""
    n = next(_names)
    account = Account(name=f"property {n}", timezone=zone)
    asset = Asset(name=f"asset {n}", asset_type="pv", account=account, timezone=zone)
    sensor = Sensor(name="s", unit=unit, event_resolution=resolution, timezone=zone, asset=asset)
    db.add_all([account, asset, sensor])
    db.commit()
    return sensor


@pytest.fixture
def sources(db) -> list[int]:
    made = [DataSource(name="meter", type="user"), DataSource(name="other meter", type="user")]
    db.add_all(made)
    db.commit()
    return [s.id for s in made]


def stored_rows(db, sensor_id: int) -> int:
    return db.scalar(
        select(func.count()).select_from(TimedBelief).where(TimedBelief.sensor_id == sensor_id)
    )


# ---------------------------------------------------------------------------------------
# 1. Writes and re-writes read back the latest belief per event
# ---------------------------------------------------------------------------------------


class BeliefModel:
    """Timed beliefs in plain Python: (event, belief time, source) -> value."""

    def __init__(self):
        self.beliefs: dict[tuple[pd.Timestamp, pd.Timestamp, int], float] = {}

    def save(self, events, values, belief_time, source) -> tuple[int, int, int, int]:
        """Expected (created, updated, unchanged, skipped_nulls) of save_beliefs."""
        given = [(e, v) for e, v in zip(events, values, strict=True) if not math.isnan(v)]
        last = dict(given)  # NaN is skipped first; then the last duplicate wins
        created = updated = unchanged = 0
        for event, value in last.items():
            key = (event, belief_time, source)
            if key not in self.beliefs:
                created += 1
            elif self.beliefs[key] != value:
                updated += 1
            else:
                unchanged += 1
            self.beliefs[key] = value
        return created, updated, unchanged, len(events) - len(given)

    def latest(self, as_of=None, sources=None) -> dict[pd.Timestamp, tuple]:
        """event -> (value, belief time, source) of the newest belief; ties: higher source."""
        best: dict[pd.Timestamp, tuple] = {}
        for (event, belief_time, source), value in self.beliefs.items():
            if as_of is not None and belief_time > as_of:
                continue
            if sources is not None and source not in sources:
                continue
            if event not in best or (belief_time, source) > best[event][1:]:
                best[event] = (value, belief_time, source)
        return best


def posted_on_sensor(start, values, factor, is_rate):
    """Pure-Python resampling of a posted series onto the sensor's resolution.

    ``factor`` > 0: each posted value covers ``factor`` sensor events (split: rates
    repeat, energy divides); ``factor`` < 0: ``-factor`` posted values make one event
    (rates average, energy sums; any NaN makes it NaN).
    """
    if factor > 0:
        out = [v if is_rate else v / factor for v in values for _ in range(factor)]
    else:
        k = -factor
        blocks = [values[i : i + k] for i in range(0, len(values), k)]
        out = [sum(b) / k if is_rate else sum(b) for b in blocks]
    return [start + i * QUARTER for i in range(len(out))], out


# Quarter-integers: sums of a few are exact, so the model's arithmetic is numpy's; a small
# set makes re-posted equal values (and unchanged counts) common.
values_ = st.one_of(st.integers(-6, 6).map(lambda i: i / 4), st.just(math.nan))


@st.composite
def writes(draw):
    via = draw(st.sampled_from(["save_beliefs", "post", "post_now"]))
    write = {
        "via": via,
        "source": draw(st.integers(0, 1)),
        "belief_step": draw(st.integers(0, 2)),  # minutes after the previous one; 0: a tie
        "repeat": draw(st.booleans()),  # re-post the very same write at once
    }
    if via == "save_beliefs":  # any events of the window, duplicates included
        offsets = draw(st.lists(st.integers(0, 16), min_size=1, max_size=10))
        write["offsets"] = offsets
        write["values"] = draw(st.lists(values_, min_size=len(offsets), max_size=len(offsets)))
    else:  # a regular series: posted at 5 min (3 per event), 15 min, 30 min or an hour
        write["offset"] = draw(st.integers(0, 16))
        write["factor"] = draw(st.sampled_from([-3, 1, 2, 4]))
        count = draw(st.integers(1, 6)) * (3 if write["factor"] == -3 else 1)
        write["values"] = draw(st.lists(values_, min_size=count, max_size=count))
    return write


def check_latest(db, sensor, model, window, sources, as_of=None, source=None):
    frame = latest_beliefs(db, sensor.id, *window, as_of=as_of, source=source)
    expected = model.latest(as_of, None if source is None else [source])
    events = sorted(expected)
    assert list(frame.index) == events
    assert frame["event_value"].tolist() == [expected[e][0] for e in events]
    assert list(frame["belief_time"]) == [expected[e][1] for e in events]
    assert frame["source_id"].tolist() == [expected[e][2] for e in events]


@WITH_DB
@given(
    zone=st.sampled_from(ZONES),
    data=st.data(),
    unit=st.sampled_from(["kW", "kWh"]),
    history=st.lists(writes(), min_size=1, max_size=6),
)
def test_any_writes_read_back_the_latest_belief_per_event(db, sources, zone, data, unit, history):
    sensor = new_sensor(db, unit, QUARTER, zone)
    is_rate = parse_unit(unit).is_rate
    base = data.draw(moments_near_dst(zone)) - 4 * timedelta(hours=1)
    window = (base - timedelta(days=1), base + timedelta(days=1))
    model = BeliefModel()
    belief_time = pd.Timestamp("2030-01-01T00:00Z")
    now = iter(pd.date_range("2031-01-01T00:00Z", periods=100, freq="1min"))  # after all priors

    def apply(write, belief_time):
        source = sources[write["source"]]
        if write["via"] == "save_beliefs":
            events = [base + o * QUARTER for o in write["offsets"]]
            result = save_beliefs(
                db,
                {"event_start": events, "event_value": np.array(write["values"])},
                sensor_id=sensor.id,
                source_id=source,
                belief_time=belief_time.to_pydatetime(),
            )
            expected = model.save(events, write["values"], belief_time, source)
        else:
            factor = write["factor"]
            posted_resolution = QUARTER * factor if factor > 0 else QUARTER / -factor
            start = base + write["offset"] * QUARTER
            series = PostedSeries(
                start.tz_convert(zone).to_pydatetime(),  # as a client in that zone posts it
                posted_resolution,
                np.array(write["values"]),
                unit,
                belief_time.to_pydatetime() if write["via"] == "post" else None,
            )
            events, values = posted_on_sensor(start, write["values"], factor, is_rate)
            if write["via"] == "post_now":
                # Values this source already believes (latest) are not new beliefs.
                belief_time = next(now)
                known = model.latest(sources=[source])
                new = [
                    (e, v)
                    for e, v in zip(events, values, strict=True)
                    if e not in known or known[e][0] != v
                ]
                already = len(events) - len(new)
                events, values = [e for e, _ in new], [v for _, v in new]
            clock = belief_time.to_pydatetime()
            with mock.patch("bvp.data.sensor_data.utcnow", return_value=clock):
                result = store_posted_series(db, sensor, series, source)
            expected = model.save(events, values, belief_time, source)
            if write["via"] == "post_now":
                expected = (expected[0], expected[1], expected[2] + already, expected[3])
        db.commit()
        assert (result.created, result.updated, result.unchanged, result.skipped_nulls) == (
            expected
        )
        return result

    for write in history:
        belief_time += timedelta(minutes=write["belief_step"])
        first = apply(write, belief_time)
        if write["repeat"]:  # re-posting the same values changes nothing
            rows = stored_rows(db, sensor.id)
            again = apply(write, belief_time)
            assert (again.created, again.updated) == (0, 0)
            assert again.unchanged == first.stored
            assert stored_rows(db, sensor.id) == rows

    check_latest(db, sensor, model, window, sources)
    check_latest(db, sensor, model, window, sources, source=sources[0])
    if model.beliefs:  # (all values NaN: nothing stored)
        as_of = data.draw(st.sampled_from(sorted({b for _, b, _ in model.beliefs})))
        check_latest(db, sensor, model, window, sources, as_of=as_of.to_pydatetime())
    assert stored_rows(db, sensor.id) == len(model.beliefs)


# ---------------------------------------------------------------------------------------
# 2. Unit conversion and resampling round-trip and conserve totals
# ---------------------------------------------------------------------------------------

FAMILIES = {
    "power": ["W", "kW", "MW", "GW"],
    "energy": ["Wh", "kWh", "MWh", "GWh"],
    "temperature": ["K", "°C", "degC", "C", "°F"],
    "price": ["EUR/MWh", "EUR/kWh", "EUR/Wh"],
    "irradiance": ["W/m²", "kW/m2", "W/m^2"],
}
# Subnormal numbers lose digits when divided (a split energy): float limits, not BVP's.
magnitudes = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False, allow_subnormal=False)
durations = st.integers(1, 7 * 24 * 60).map(lambda m: timedelta(minutes=m))


def close(actual, expected, scale=0.0) -> bool:
    """Equal up to float rounding; ``scale`` adds absolute slack (temperatures' offset)."""
    return np.allclose(
        actual, expected, rtol=1e-12, atol=max(1e-12 * scale, 1e-290), equal_nan=True
    )


@PURE
@given(
    family=st.sampled_from(sorted(FAMILIES)),
    data=st.data(),
    values=st.lists(magnitudes, min_size=1, max_size=20).map(np.array),
)
def test_unit_conversion_within_a_family_round_trips(family, data, values):
    a, b, c = (data.draw(st.sampled_from(FAMILIES[family])) for _ in range(3))
    scale = 1e3 * (1 + np.abs(values).max()) if family == "temperature" else 0.0
    there = convert(values, a, b)
    assert close(convert(there, b, a), values, scale)
    # Going through a third unit is the same as going directly.
    assert close(convert(convert(values, a, c), c, b), there, scale * 1e3)


@PURE
@given(
    power=st.sampled_from(FAMILIES["power"]),
    energy=st.sampled_from(FAMILIES["energy"]),
    duration=durations,
    values=st.lists(magnitudes, min_size=1, max_size=20).map(np.array),
)
def test_power_and_energy_convert_into_each_other_over_a_duration(power, energy, duration, values):
    energies = convert(values, power, energy, duration)
    assert close(convert(energies, energy, power, duration), values)
    # kW over a duration is kW x hours of kWh: 4 kW for 15 minutes is 1 kWh.
    kwh = convert(values, power, "kWh", duration)
    kw = convert(values, power, "kW")
    assert close(kwh, kw * (duration / timedelta(hours=1)))
    with pytest.raises(UnitError):
        convert(values, power, energy)  # no duration: refused, not guessed


@PURE
@given(
    a=st.sampled_from([u for us in FAMILIES.values() for u in us]),
    b=st.sampled_from([u for us in FAMILIES.values() for u in us]),
)
def test_units_of_different_families_are_refused(a, b):
    families = {f for f, us in FAMILIES.items() if a in us or b in us}
    assume(len(families) == 2 and families != {"power", "energy"})
    with pytest.raises(UnitError):
        convert(np.ones(3), a, b, timedelta(hours=1))


@PURE
@given(
    values=st.lists(st.one_of(magnitudes, st.just(math.nan)), min_size=1, max_size=48).map(
        np.array
    ),
    given_minutes=st.sampled_from([5, 10, 15, 30, 60, 120, 1440]),
    ratio=st.sampled_from([1, 2, 3, 4, 6, 12]),
    is_rate=st.booleans(),
    start=st.integers(0, 10**6).map(lambda m: pd.Timestamp("2021-01-01T00:00Z") + m * QUARTER),
)
def test_resampling_round_trips_and_conserves_totals(values, given_minutes, ratio, is_rate, start):
    given_ = timedelta(minutes=given_minutes)
    finer = given_ / ratio
    # Made finer and back: the same values.
    events, split = to_resolution(start, values, given_, finer, is_rate)
    assert len(events) == len(values) * ratio and events[0] == start
    assert events[-1] + finer == start + len(values) * given_  # the same span
    _, back = to_resolution(start, split, finer, given_, is_rate)
    assert close(back, values)
    # Made coarser: energy sums are kept, and so are the means of rates.
    whole = len(values) - len(values) % ratio
    assume(whole)
    fine = values[:whole]
    events, coarse = to_resolution(start, fine, given_, given_ * ratio, is_rate)
    assert len(events) == whole // ratio and events[-1] + given_ * ratio == start + whole * given_
    blocks = fine.reshape(-1, ratio)
    missing = np.isnan(blocks).any(axis=1)
    assert (np.isnan(coarse) == missing).all()  # a part missing: the whole is missing
    complete = blocks[~missing]
    kept = coarse[~missing]
    if kept.size:
        total = np.abs(complete).sum()
        if is_rate:
            assert close(kept.mean(), complete.mean(), total)
        else:
            assert close(kept.sum(), complete.sum(), total)
    with pytest.raises(ResolutionError):
        to_resolution(start, values, given_, given_ * ratio + timedelta(minutes=7), is_rate)


@WITH_DB
@given(
    zone=st.sampled_from(ZONES),
    data=st.data(),
    sensor_unit=st.sampled_from(["kW", "kWh"]),
    posted_unit=st.sampled_from(["W", "kW", "MW", "Wh", "kWh", "MWh"]),
    factor=st.sampled_from([-3, 1, 2, 4]),
    count=st.integers(1, 8),
)
def test_a_posted_series_reads_back_in_its_own_unit_and_resolution(
    db, sources, zone, data, sensor_unit, posted_unit, factor, count
):
    """Through the store and back: coarser posts round-trip, finer ones keep their totals."""
    sensor = new_sensor(db, sensor_unit, QUARTER, zone)
    start = data.draw(moments_near_dst(zone))
    posted_resolution = QUARTER * factor if factor > 0 else QUARTER / -factor
    n = count * (3 if factor == -3 else 1)
    values = np.array(data.draw(st.lists(magnitudes, min_size=n, max_size=n)))
    prior = datetime(2030, 1, 1, tzinfo=UTC)
    series = PostedSeries(start.to_pydatetime(), posted_resolution, values, posted_unit, prior)
    result = store_posted_series(db, sensor, series, sources[0])
    db.commit()
    assert result.created == (n * factor if factor > 0 else count)
    out = read_series(
        db, sensor, series.start, series.end, resolution=posted_resolution, unit=posted_unit
    )
    assert out.start == series.start and out.end == series.end
    if factor > 0:
        assert close(out.values, values)
    else:  # 5-minute detail is lost in 15-minute events: totals are kept
        blocks, back = values.reshape(-1, 3), out.values.reshape(-1, 3)
        posted_is_rate = parse_unit(posted_unit).is_rate
        kept = back.mean(axis=1) if posted_is_rate else back.sum(axis=1)
        wanted = blocks.mean(axis=1) if posted_is_rate else blocks.sum(axis=1)
        assert np.allclose(kept, wanted, rtol=1e-12, atol=1e-12 * np.abs(blocks).sum())


# ---------------------------------------------------------------------------------------
# 3. Time zones and DST: no event shifted or dropped; naive input refused
# ---------------------------------------------------------------------------------------


def render(local: pd.Timestamp, style: str) -> str:
    """A local time as a client writes it: ISO 8601 with its offset in one of the forms."""
    text = local.isoformat()
    if style == "space":
        return text.replace("T", " ", 1)
    if style == "compact":  # +0530
        return text[:-3] + text[-2:]
    if style == "z" and local.utcoffset() == timedelta(0):
        return local.tz_convert("UTC").isoformat().replace("+00:00", "Z")
    return text


@st.composite
def local_windows(draw):
    zone = draw(st.sampled_from(ZONES))
    start = draw(moments_near_dst(zone))
    step = draw(st.sampled_from([timedelta(minutes=m) for m in (1, 15, 30, 60, 90, 1440)]))
    count = draw(st.integers(1, 200))
    jitter = draw(st.integers(0, 10**6 - 1)) * timedelta(microseconds=1)
    instants = pd.date_range(start + jitter, periods=count, freq=step)
    return zone, instants


@PURE
@example(  # the repeated hour of Amsterdam's autumn change, both passes
    window=("Europe/Amsterdam", pd.date_range("2024-10-27T00:00Z", periods=8, freq="15min")),
    style="iso",
)
@given(window=local_windows(), style=st.sampled_from(["iso", "space", "compact", "z"]))
def test_local_iso_strings_with_offsets_give_the_exact_instants(window, style):
    zone, instants = window
    local = instants.tz_convert(zone)
    strings = [render(t, style) for t in local]
    utc = to_utc_index(strings)
    assert len(utc) == len(instants) and (utc == instants).all()
    assert [to_utc(s) for s in strings] == list(instants.to_pydatetime())
    # Aware datetimes in the zone (folds included) and aware Timestamps too.
    zoned = [t.to_pydatetime().astimezone(ZoneInfo(zone)) for t in instants]
    assert (to_utc_index(zoned) == instants).all()
    assert (to_utc_index(local) == instants).all()


@PURE
@given(window=local_windows(), data=st.data())
def test_naive_input_is_always_refused(window, data):
    zone, instants = window
    strings = [t.isoformat() for t in instants.tz_convert(zone)]
    i = data.draw(st.integers(0, len(strings) - 1))
    naive = instants[i].tz_convert(zone).tz_localize(None)
    strings[i] = data.draw(st.sampled_from([naive.isoformat(), str(naive), naive.isoformat()[:16]]))
    with pytest.raises(NaiveDatetimeError):
        to_utc_index(strings)
    with pytest.raises(NaiveDatetimeError):
        to_utc(strings[i])
    for values in (
        instants.tz_localize(None),
        instants.tz_localize(None).to_numpy(),
        list(instants.tz_localize(None).to_pydatetime()),
    ):
        with pytest.raises(NaiveDatetimeError):
            to_utc_index(values)


@PURE
@given(window=local_windows(), style=st.sampled_from(["iso", "space", "compact", "z"]))
def test_importer_timestamps_with_offsets_are_the_same_instants(window, style):
    zone, instants = window
    strings = [render(t, style) for t in instants.tz_convert(zone)]
    read = timestamps(pa.array(strings), "time", None, lambda i: f"row {i}")
    assert (read == to_utc_index(strings)).all() and (read == instants).all()


@PURE
@given(window=local_windows())
def test_importer_local_times_are_placed_exactly_or_refused(window):
    """Offset-less local times (the importer's 'timezone' option): never a shifted event."""
    zone, instants = window
    strings = [t.tz_localize(None).isoformat() for t in instants.tz_convert(zone)]
    try:
        read = timestamps(pa.array(strings), "time", zone, lambda i: f"row {i}")
    except ImportFileError:
        # Refused only where a local time happens twice (so some row is ambiguous).
        assert len(set(strings)) < len(strings) or any(
            pd.Timestamp(s).tz_localize(zone, ambiguous="NaT", nonexistent="NaT") is pd.NaT
            for s in strings
        )
        return
    assert (read == instants).all()


@WITH_DB
@given(
    zone=st.sampled_from(ZONES),
    resolution=st.sampled_from(HOUR_DIVISORS),
    data=st.data(),
    local_day=st.booleans(),
)
def test_a_series_posted_across_a_dst_change_keeps_every_event(
    db, sources, zone, resolution, data, local_day
):
    sensor = new_sensor(db, "kW", resolution, zone)
    near = data.draw(moments_near_dst(zone))
    if local_day:  # a whole local day: 23, 23.5, 24, 24.5 or 25 hours
        start = near.tz_convert(zone).normalize()
        end = (start + pd.DateOffset(days=1)).normalize()
        assume((end - start) % resolution == timedelta(0))
        count = (end - start) // resolution
    else:
        start = local_grid_start(near - 2 * timedelta(hours=1), resolution, zone)
        count = data.draw(st.integers(1, timedelta(hours=30) // resolution))
    values = np.arange(count, dtype=float)
    series = PostedSeries(start.to_pydatetime(), resolution, values, "kW", None)
    events = pd.date_range(start.tz_convert("UTC"), periods=count, freq=resolution)
    try:
        result = store_posted_series(db, sensor, series, sources[0])
    except ResolutionError:
        # Refused only when an offset change of the zone does not move the grid by whole
        # steps (Lord Howe's 30 minutes for an hourly sensor): events would leave the grid.
        assert not on_local_grid(events, resolution, zone).all()
        assert stored_rows(db, sensor.id) == 0
        return
    db.commit()
    assert result.created == count == stored_rows(db, sensor.id)
    frame = latest_beliefs(db, sensor.id, events[0], events[-1] + resolution)
    assert (frame.index == events).all()
    np.testing.assert_array_equal(frame["event_value"], values)
    # Every stored event is on the sensor's local grid (what check_on_grid promises).
    assert on_local_grid(frame.index, resolution, zone).all()
    out = read_series(db, sensor, start.to_pydatetime(), series.end)
    np.testing.assert_array_equal(out.values, values)
    assert out.start == start and out.end == series.end
    with pytest.raises(NaiveDatetimeError):
        store_posted_series(
            db,
            sensor,
            PostedSeries(start.tz_localize(None).to_pydatetime(), resolution, values, "kW", None),
            sources[0],
        )
    db.rollback()


def test_an_hourly_series_is_refused_where_a_half_hour_dst_change_moves_the_grid(db, sources):
    """Bug found by the property above (minimal example): Lord Howe's DST ends at 02:00 on
    4 April 2021 (+11:00 to +10:30). An hourly series from 21:30 local that day was stored
    on in fixed UTC steps past midnight, so its 5 April events were at 00:30, off that
    day's grid (a post from 5 April 00:00 would overlap them, and reads on the grid never
    saw them). Now every event is checked where the grid can move, and such a series is
    refused; each side of the midnight goes in on its own."""
    zone, hour = "Australia/Lord_Howe", timedelta(hours=1)
    sensor = new_sensor(db, "kW", hour, zone)
    start = pd.Timestamp("2021-04-04T11:00Z")  # 21:30 local, on 4 April's grid
    across = PostedSeries(start.to_pydatetime(), hour, np.arange(4.0), "kW", None)
    with pytest.raises(ResolutionError, match=r"end: 2021-04-04T14:00:00\+00:00 is not on"):
        store_posted_series(db, sensor, across, sources[0])
    assert stored_rows(db, sensor.id) == 0
    before = PostedSeries(start.to_pydatetime(), hour, np.arange(3.0), "kW", None)
    midnight = pd.Timestamp("2021-04-05T00:00", tz=zone)  # 13:30 UTC
    after = PostedSeries(midnight.to_pydatetime(), hour, np.arange(3.0, 5.0), "kW", None)
    for series in (before, after):
        assert store_posted_series(db, sensor, series, sources[0]).created == len(series.values)
    db.commit()
    out = read_series(db, sensor, midnight.to_pydatetime(), after.end)
    np.testing.assert_array_equal(out.values, [3.0, 4.0])
    with pytest.raises(ResolutionError, match="end: "):  # a read across: refused, not blank
        read_series(db, sensor, start.to_pydatetime(), after.end)


def test_grid_helper_agrees_with_check_on_grid():
    start = pd.Timestamp("2024-03-31T00:00", tz="Europe/Amsterdam").tz_convert("UTC")
    check_on_grid(start, QUARTER, "Europe/Amsterdam")
    assert on_local_grid(pd.DatetimeIndex([start]), QUARTER, "Europe/Amsterdam").all()
    with pytest.raises(ResolutionError):
        check_on_grid(start + timedelta(minutes=5), QUARTER, "Europe/Amsterdam")
