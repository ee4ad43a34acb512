"""Units BVP converts between: power, energy, temperature, irradiance and price families.

Power and energy also convert into each other, given the duration each value covers.
Anything else converts only to itself; an incompatible pair is a ``UnitError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}


@dataclass(frozen=True)
class Unit:
    family: str  # power, energy, temperature, irradiance, price:<currency>, or the unit itself
    factor: float  # to the family's base unit (W, Wh, K, W/m², <currency>/MWh)
    offset: float = 0.0  # for temperatures: base = value * factor + offset

    @property
    def is_rate(self) -> bool:
        """Averaged when resampled (power, temperature, prices); energy is summed."""
        return self.family != "energy"


class UnitError(ValueError):
    def __init__(self, message: str, field: str = "unit"):
        self.field = field
        super().__init__(f"{field}: {message}")


def parse_unit(text: str) -> Unit:
    unit = text.strip().replace("²", "2").replace("°", "deg").replace(" ", "")
    for prefix, factor in _SCALE.items():
        if unit == f"{prefix}W":
            return Unit("power", factor)
        if unit == f"{prefix}Wh":
            return Unit("energy", factor)
        if unit in (f"{prefix}W/m2", f"{prefix}W/m^2"):
            return Unit("irradiance", factor)
    if unit in ("degC", "C"):
        return Unit("temperature", 1.0, 273.15)
    if unit == "K":
        return Unit("temperature", 1.0)
    if unit in ("degF", "F"):
        return Unit("temperature", 5 / 9, 273.15 - 32 * 5 / 9)
    if "/" in unit:
        currency, _, per = unit.partition("/")
        if currency.isalpha() and currency.isupper() and per in ("MWh", "kWh", "Wh"):
            return Unit(f"price:{currency}", {"MWh": 1.0, "kWh": 1e3, "Wh": 1e6}[per])
    return Unit(unit, 1.0)  # known only to itself (%, m³/h, ...)


def convert(
    values: np.ndarray, from_unit: str, to_unit: str, duration: timedelta | None = None
) -> np.ndarray:
    """``values`` in ``from_unit`` expressed in ``to_unit``.

    ``duration`` (what each value covers) is needed only between power and energy.
    """
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if source == target:
        return values
    families = {source.family, target.family}
    if source.family == target.family:
        base = values * source.factor + source.offset
        return (base - target.offset) / target.factor
    if families == {"power", "energy"}:
        if duration is None or duration <= timedelta(0):
            raise UnitError(f"converting {from_unit} to {to_unit} needs a resolution")
        hours = duration / timedelta(hours=1)
        base = values * source.factor
        base = base * hours if source.family == "power" else base / hours
        return base / target.factor
    raise UnitError(f"{from_unit!r} cannot be converted to the sensor's unit {to_unit!r}")
