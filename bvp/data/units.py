"""Units: which ones BVP knows, and converting values between them, exactly.

A unit is known when pint reads it (with currencies added as dimensions of their own,
so EUR/MWh is a price and never converts to USD/MWh) and it measures something BVP
stores (``KINDS``: power, energy, prices, temperatures, weather, percentages...).
``check_unit`` is the rule for every unit that comes in: the API's sensors, posted and
uploaded data, manifests. An unknown unit is a ``UnitError`` naming close matches.

Sensors stored before this rule may have units nobody knows: they keep working (their
data converts only to the very same unit, and is averaged when resampled).

Conversion factors are exact fractions (pint on ``Fraction``), applied to the values as
one multiplication or division where they are whole numbers or their inverses (MW to
kW, kWh per 15 minutes to kW), so the result is the correctly rounded float. Power and
energy convert into each other given the duration each value covers.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pint

# ISO 4217 codes BVP knows as currencies (a price's unit is one of these per energy).
CURRENCIES = (
    "EUR USD GBP CHF JPY CNY AUD CAD NZD NOK SEK DKK ISK PLN CZK HUF RON BGN TRY "
    "INR BRL MXN ZAR KRW SGD HKD"
).split()

# Whole-string spellings kept from before pint (pint reads C as coulomb, F as farad).
_ALIASES = {"C": "degC", "F": "degF"}

# Dimensions as {base dimension: power}; a currency stands in as "[currency]".
_POWER = {"[mass]": 1, "[length]": 2, "[time]": -3}
_ENERGY = {"[mass]": 1, "[length]": 2, "[time]": -2}
KINDS: dict[str, dict[str, int]] = {
    "power": _POWER,
    "energy": _ENERGY,
    "irradiance": {"[mass]": 1, "[time]": -3},
    "irradiation": {"[mass]": 1, "[time]": -2},
    "temperature": {"[temperature]": 1},
    "dimensionless": {},
    "speed": {"[length]": 1, "[time]": -1},
    "length": {"[length]": 1},
    "pressure": {"[mass]": 1, "[length]": -1, "[time]": -2},
    "frequency": {"[time]": -1},
    "voltage": {"[mass]": 1, "[length]": 2, "[time]": -3, "[current]": -1},
    "current": {"[current]": 1},
    "volume": {"[length]": 3},
    "volume flow": {"[length]": 3, "[time]": -1},
    "money": {"[currency]": 1},
    "price per energy": {"[currency]": 1, "[mass]": -1, "[length]": -2, "[time]": 2},
    "price per power": {"[currency]": 1, "[mass]": -1, "[length]": -2, "[time]": 3},
}

# What a close match is drawn from (any other unit pint reads of a kind above is known
# too, e.g. hWh or GJ; these are the ones people mean).
COMMON_UNITS = (
    ["W", "kW", "MW", "GW", "Wh", "kWh", "MWh", "GWh", "VA", "kVA", "MVA", "J", "kJ", "MJ"]
    + ["GJ", "W/m²", "kW/m²", "Wh/m²", "kWh/m²", "°C", "degC", "K", "°F", "%", "dimensionless"]
    + ["m/s", "km/h", "mm", "m", "hPa", "Pa", "bar", "Hz", "V", "kV", "A", "m³", "m³/h", "l"]
    + ["deg"]
    + [f"{c}/{e}" for c in ("EUR", "USD", "GBP") for e in ("MWh", "kWh", "MW", "kW")]
    + CURRENCIES
)


class UnitError(ValueError):
    def __init__(self, message: str, field: str = "unit"):
        self.field = field
        super().__init__(f"{field}: {message}")


@cache
def _registry() -> pint.UnitRegistry:
    import pint  # 0.14 s: paid by the first unit read, not by every command's start

    registry = pint.UnitRegistry(
        non_int_type=Fraction,  # exact factors: 1/1000, not 0.001
        autoconvert_offset_to_baseunit=True,
        cache_folder=None,
        preprocessors=[lambda text: re.sub(r"(?<=m)([23])(?![0-9])", r"**\1", text)],  # m2
    )
    for code in CURRENCIES:
        registry.define(f"{code} = [currency_{code}]")
    return registry


@dataclass(frozen=True)
class Unit:
    text: str  # as the sensor or the client wrote it
    kind: str | None  # a key of KINDS; None: not a unit BVP knows (an old sensor's)

    @property
    def is_rate(self) -> bool:
        """Averaged when resampled (power, temperature, prices...); energy is summed."""
        return self.kind != "energy"


@lru_cache(maxsize=4096)  # bounded: the texts come from clients
def _read(text: str) -> tuple[pint.Unit, str] | None:
    """The pint unit and its kind, or None when unknown."""
    spelled = _ALIASES.get(text.strip(), text.strip())
    if not spelled:
        return None
    try:
        unit = _registry().parse_units(spelled)
    except Exception:  # pint raises many kinds: syntax, undefined, a zero division...
        return None
    dimensions = {}
    for name, power in unit.dimensionality.items():
        if power:
            key = "[currency]" if name.startswith("[currency_") else name
            if key in dimensions:  # two currencies in one unit (EUR/USD): not BVP's
                return None
            dimensions[key] = int(power) if power == int(power) else power
    kind = next((k for k, dims in KINDS.items() if dims == dimensions), None)
    return None if kind is None else (unit, kind)


def parse_unit(text: str) -> Unit:
    """The unit as far as BVP knows it; never fails (a stored sensor's odd unit reads)."""
    found = _read(text)
    return Unit(text, found[1] if found else None)


def is_known(text: str) -> bool:
    return _read(text) is not None


def close_units(text: str, count: int = 3) -> list[str]:
    """Known units that look like ``text`` (case first: KWH is kWh), best first."""
    folded = {u.casefold(): u for u in COMMON_UNITS}
    exact = folded.get(text.strip().casefold())
    matches = difflib.get_close_matches(text.strip().casefold(), list(folded), n=count)
    return list(dict.fromkeys(([exact] if exact else []) + [folded[m] for m in matches]))[:count]


def check_unit(text: str, field: str = "unit") -> str:
    """``text`` if it is a unit BVP knows; else a ``UnitError`` on ``field`` naming close
    matches. The one rule for units that come in (API, uploads, manifests)."""
    if not is_known(text):
        raise UnitError(unknown_unit_message(text), field)
    return text


def unknown_unit_message(text: str) -> str:
    close = [repr(u) for u in close_units(text)]
    if not close:
        return f"{text!r} is not a unit BVP knows (such as kW, kWh, EUR/MWh, °C, W/m², %)"
    options = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
    return f"{text!r} is not a unit BVP knows (did you mean {options}?)"


@lru_cache(maxsize=4096)
def _affine(from_unit: str, to_unit: str, hours: Fraction | None) -> tuple[Fraction, Fraction]:
    """(a, b) such that a value in ``from_unit`` is ``a * value + b`` in ``to_unit``."""
    (source, source_kind), (target, _) = _read(from_unit), _read(to_unit)
    registry = _registry()

    def converted(value: Fraction) -> Fraction:
        quantity = registry.Quantity(value, source)
        if hours is not None:  # power <-> energy over what each value covers
            span = registry.Quantity(hours, "hour")
            quantity = quantity * span if source_kind == "power" else quantity / span
        return Fraction(quantity.to(target).magnitude)

    b = converted(Fraction(0))
    return converted(Fraction(1)) - b, b


def _apply(values: np.ndarray, a: Fraction, b: Fraction) -> np.ndarray:
    if a.denominator == 1:
        scaled = values * float(a.numerator) if a != 1 else values
    elif a.numerator == 1:
        scaled = values / float(a.denominator)  # W to kW: exactly what / 1000 gives
    else:
        scaled = values * float(a)
    return scaled + float(b) if b else scaled


def _hours(duration: timedelta) -> Fraction:
    microseconds = (duration.days * 86_400 + duration.seconds) * 10**6 + duration.microseconds
    return Fraction(microseconds, 3_600 * 10**6)


def convert(
    values: np.ndarray,
    from_unit: str,
    to_unit: str,
    duration: timedelta | None = None,
    *,
    sensors: str = "to",
) -> np.ndarray:
    """``values`` in ``from_unit`` expressed in ``to_unit``.

    ``sensors`` says which of the two is the sensor's (``"to"`` when storing, ``"from"``
    when reading), so that an unknown unit is blamed on the right side: the client's is a
    typo (named with close matches), the sensor's an old one that converts to nothing.
    ``duration`` (what each value covers) is needed only between power and energy.
    """
    if from_unit == to_unit:
        return values
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    sensor_unit, given_unit = (to_unit, from_unit) if sensors == "to" else (from_unit, to_unit)
    if parse_unit(given_unit).kind is None:
        raise UnitError(unknown_unit_message(given_unit))
    if parse_unit(sensor_unit).kind is None:
        raise UnitError(
            f"the sensor's unit {sensor_unit!r} is not one BVP knows, so its data is only "
            f"taken and given in {sensor_unit!r}, not {given_unit!r}"
        )
    if source.kind == target.kind:
        if _read(from_unit)[0].dimensionality != _read(to_unit)[0].dimensionality:
            raise UnitError(f"{given_unit!r} is another currency than the sensor's {sensor_unit!r}")
        return _apply(values, *_affine(from_unit, to_unit, None))
    if {source.kind, target.kind} == {"power", "energy"}:
        if duration is None or duration <= timedelta(0):
            raise UnitError(f"converting {from_unit} to {to_unit} needs a resolution")
        return _apply(values, *_affine(from_unit, to_unit, _hours(duration)))
    raise UnitError(f"{given_unit!r} cannot be converted to the sensor's unit {sensor_unit!r}")
