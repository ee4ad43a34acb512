"""Units: which ones BVP knows (an unknown one is refused naming close matches), and
conversions that are exact, not merely close."""

from datetime import timedelta

import numpy as np
import pytest

from bvp.data.sample_data import SERIES
from bvp.data.units import UnitError, check_unit, convert, parse_unit
from bvp.ingestion.manifest import load_manifest
from tests.ingestion.conftest import EXAMPLE_MANIFEST

# Values whose products and quotients round: 0.1, thirds, large and tiny magnitudes.
VALUES = np.random.default_rng(3).normal(size=1000) * np.logspace(-8, 8, 1000)
VALUES[:5] = [0.1, 1 / 3, 1234.0, 7.0, -2.5]


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("kwh", "kWh"),
        ("KWH", "kWh"),
        ("Mwh", "MWh"),
        ("eur/mwh", "EUR/MWh"),
        ("kW)", "kW"),
        ("2 kW", "kW"),  # a quantity, not a unit
    ],
)
def test_an_unknown_unit_is_refused_naming_the_unit_meant(text, suggested):
    with pytest.raises(UnitError) as refused:
        check_unit(text)
    assert refused.value.field == "unit"
    assert f"did you mean '{suggested}'" in str(refused.value)


@pytest.mark.parametrize("text", ["x", "", "1/0", "-", "pu", "EUR/USD", "XYZ/MWh", "ct/kWh"])
def test_text_that_is_no_unit_of_bvps_kinds_is_refused(text):
    """Including what pint reads as something else: pu is a mass, ct a carat."""
    with pytest.raises(UnitError, match="is not a unit BVP knows"):
        check_unit(text, "attributes.unit")


def test_units_of_the_sample_data_the_example_manifest_and_prices_are_known():
    manifest = load_manifest(EXAMPLE_MANIFEST)
    units = {s.unit for s in SERIES} | {s.unit for s in manifest.sensors.values()}
    units |= {"EUR/MWh", "USD/kWh", "EUR/MW", "%", "W/m2", "m³/h", "°F", "C", "MVA", "GJ"}
    for unit in units:
        assert check_unit(unit) == unit  # kept as written


def test_power_to_power_and_energy_to_energy_are_one_exact_operation():
    # What a person computes: MW to kW is * 1000, W to kW is / 1000 (not * 0.001).
    assert np.array_equal(convert(VALUES, "MW", "kW"), VALUES * 1000)
    assert np.array_equal(convert(VALUES, "W", "kW"), VALUES / 1000)
    assert np.array_equal(convert(VALUES, "GWh", "kWh"), VALUES * 1_000_000)
    assert np.array_equal(convert(VALUES, "EUR/kWh", "EUR/MWh"), VALUES * 1000)
    assert np.array_equal(convert(VALUES, "%", "dimensionless"), VALUES / 100)
    assert convert(np.array([1234.0]), "W", "kW")[0] == 1.234  # not 1.2340000000000002


def test_energy_per_quarter_hour_is_exactly_four_times_the_power():
    quarter = timedelta(minutes=15)
    assert np.array_equal(convert(VALUES, "kWh", "kW", quarter), VALUES * 4)
    assert np.array_equal(convert(VALUES, "kW", "kWh", quarter), VALUES / 4)
    assert np.array_equal(convert(VALUES, "MWh", "kW", timedelta(hours=1)), VALUES * 1000)
    assert np.array_equal(convert(VALUES, "kW", "kWh", timedelta(minutes=5)), VALUES / 12)


def test_temperatures_convert_with_their_offsets():
    assert np.allclose(convert(np.array([0.0, 100.0]), "°C", "K"), [273.15, 373.15], rtol=1e-15)
    assert np.allclose(convert(np.array([32.0, 212.0]), "°F", "degC"), [0, 100], atol=1e-12)
    assert np.array_equal(convert(VALUES, "C", "°C"), VALUES)  # the old spelling


def test_prices_in_another_currency_and_other_kinds_are_refused():
    with pytest.raises(UnitError, match="another currency"):
        convert(VALUES, "EUR/MWh", "USD/MWh")
    with pytest.raises(UnitError, match="cannot be converted"):
        convert(VALUES, "kW", "EUR/MWh", timedelta(hours=1))
    with pytest.raises(UnitError, match="needs a resolution"):
        convert(VALUES, "kW", "kWh")


def test_a_stored_sensors_unknown_unit_still_takes_and_gives_its_own_unit():
    """Sensors made before units were checked keep working in their own unit."""
    assert convert(VALUES, "m3 gas", "m3 gas") is VALUES
    assert parse_unit("m3 gas").kind is None and parse_unit("m3 gas").is_rate
    with pytest.raises(UnitError, match="the sensor's unit 'm3 gas' is not one BVP knows"):
        convert(VALUES, "kW", "m3 gas")
    with pytest.raises(UnitError, match="did you mean 'kWh'"):
        convert(VALUES, "kwh", "kW")


def test_only_energy_is_summed_when_resampled():
    assert not parse_unit("MWh").is_rate
    assert all(parse_unit(u).is_rate for u in ("kW", "EUR/MWh", "°C", "W/m²", "%"))
