"""Real sample measurements shipped inside a PyPI package, converted at populate time.

Origin: the ``pvanalytics`` package (pvlib project, MIT licence) ships, in
``pvanalytics/data/``, measurements from NREL's Solar Energy Research Facility (SERF)
in Golden, Colorado (public data, U.S. Department of Energy / NREL):

- ``serf_east_15min_ac_power.csv``: measured AC power of the SERF East PV system,
  15-minute means in W, 2016-07-01 to 2016-10-14, timestamps with a -07:00 offset;
- ``serf_east_psm3_data.csv``: NSRDB PSM3 satellite-derived global horizontal
  irradiance (W/m²) and air temperature (°C) for the same site and timestamps.

The files are read from the installed package without importing it (its import pulls
in scikit-image and statsmodels, which BVP does not need).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd

from bvp.data.utc import to_utc_index

PACKAGE = "pvanalytics"
SITE = {"latitude": 39.7406, "longitude": -105.1774, "timezone": "America/Denver"}
RESOLUTION = timedelta(minutes=15)


@dataclass(frozen=True)
class SampleSeries:
    key: str
    asset: str
    asset_type: str
    sensor: str
    unit: str
    file: str
    column: str
    scale: float = 1.0
    lower_bound: float | None = None  # what the sensor cannot go below (none for °C)


SERIES = (
    SampleSeries(
        "pv_power",
        "NREL SERF East PV",
        "pv",
        "AC power",
        "kW",
        "serf_east_15min_ac_power.csv",
        "ac_power",
        scale=1e-3,
        lower_bound=0.0,
    ),
    SampleSeries(
        "ghi",
        "NREL SERF weather",
        "weather_station",
        "Global horizontal irradiance",
        "W/m²",
        "serf_east_psm3_data.csv",
        "ghi",
        lower_bound=0.0,
    ),
    SampleSeries(
        "air_temperature",
        "NREL SERF weather",
        "weather_station",
        "Air temperature",
        "°C",
        "serf_east_psm3_data.csv",
        "temp_air",
    ),
)


class SampleDataMissingError(RuntimeError):
    pass


def sample_data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SampleDataMissingError(
            f"The sample data comes from the '{PACKAGE}' package; install it with "
            "`pip install -e .[sample]` (./tasks demo does this)."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_sample_series(series: SampleSeries) -> pd.Series:
    """The series in the sensor's unit, indexed by aware UTC event start."""
    frame = pd.read_csv(sample_data_dir() / series.file, usecols=["measured_on", series.column])
    frame = frame.dropna()
    index = to_utc_index(frame["measured_on"].astype(str), f"{series.file}:measured_on")
    values = frame[series.column].to_numpy(dtype=float) * series.scale
    return pd.Series(values, index=index, name=series.key).sort_index()
