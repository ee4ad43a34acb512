"""Real public energy series that PyPI packages ship, for the forecast-quality benchmark.

Each series is read from the installed package's own files, never downloaded. Install
them with `pip install -e '.[bench]'` and `pip install --no-deps brightwind` (the
`./tasks bench` task does both; brightwind is taken for its data files only, without its
plotting dependencies, and is never imported).

- demand-gb: national electricity demand of England and Wales (MW), half-hourly,
  June to August 2000; pmdarima (MIT); Taylor (2003), J. Oper. Res. Soc. 54, 799-805,
  as in R's forecast package.
- pv-serf-east: AC power of the SERF East PV system in Golden, Colorado (W), 15 min,
  July to October 2016; pvanalytics (MIT); NREL, public data. BVP's demo data.
- wind-mast: wind speed at 80 m on a met mast (m/s), 10 min, 2016-2017; brightwind
  (MIT), its demo mast.
- pv-system-50: AC power of NREL PVDAQ system 50 (W), 15 min, 2011-2013; pvanalytics
  (MIT); NREL, public data. Held out until issue 18 looked at its test days (December
  2013, a week of snow on the panels); a development series since.
- wind-merra2 (held out): MERRA-2 reanalysis wind speed at 50 m (m/s), hourly,
  2015-2017; brightwind (MIT); NASA GMAO, public data.
- pv-poa-system-15 (held out, added with issue 18 before any change it measures):
  plane-of-array irradiance of NREL PVDAQ system 15 (W/m²), 15 min, February 2019 to
  October 2023 (stamped in UTC-7, 8 % gaps; 2,310 implausible readings above 1,500 W/m²
  in May to July 2023 are kept as measured, none in the 56 days selected on and
  scored); pvanalytics (MIT); NREL, public data. The irradiance on a PV array's plane
  is what its power follows.

Held-out series are never used to tune a model: they are scored, and reported, only.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PublicSeries:
    name: str
    what: str
    unit: str
    resolution: pd.Timedelta
    timezone: str
    package: str
    load: Callable[[], pd.Series] = field(repr=False)
    held_out: bool = False
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    lower_bound: float | None = None

    @property
    def context(self) -> dict:
        """What BVP's models and bounds know of a sensor, for this series."""
        return {
            "timezone": self.timezone,
            "country": self.country,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "lower_bound": self.lower_bound,
            "daylight_only": self.name.startswith("pv-"),
        }


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{package} is not installed: pip install -e '.[bench]' (./tasks bench does it)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _taylor() -> pd.Series:
    # pmdarima keeps the 4,032 values inside its module; importing the module is cheap.
    from pmdarima.datasets import load_taylor

    values = load_taylor().astype(float)
    # Monday 5 June 2000 00:00 to Sunday 27 August 2000, half-hourly, local (BST).
    index = pd.date_range("2000-06-05", periods=len(values), freq="30min", tz="Europe/London")
    return pd.Series(values, index=index.tz_convert("UTC"))


def _pvanalytics(file: str, column: str) -> Callable[[], pd.Series]:
    def load() -> pd.Series:
        path = package_file("pvanalytics", f"data/{file}")
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
        index = pd.DatetimeIndex(pd.to_datetime(frame["measured_on"], utc=True))
        series = pd.Series(frame[column].to_numpy(dtype=float), index=index)
        return series.clip(lower=0.0)  # inverters draw a few W at night

    return load


def _brightwind(file: str, column: str, timestamp: str, start: str | None = None):
    def load() -> pd.Series:
        frame = pd.read_csv(
            package_file("brightwind", f"demo_datasets/{file}"),
            usecols=[timestamp, column],
            encoding="utf-8-sig",
        )
        index = pd.DatetimeIndex(pd.to_datetime(frame[timestamp])).tz_localize("UTC")
        series = pd.Series(frame[column].to_numpy(dtype=float), index=index)
        series = series[series > 0]  # a stuck or iced anemometer logs zero
        return series[start:] if start else series

    return load


SERIES = (
    PublicSeries(
        "demand-gb",
        "electricity demand, England and Wales",
        "MW",
        pd.Timedelta(minutes=30),
        "Europe/London",
        "pmdarima",
        _taylor,
        country="GB",
    ),
    PublicSeries(
        "pv-serf-east",
        "PV AC power, NREL SERF East",
        "W",
        pd.Timedelta(minutes=15),
        "America/Denver",
        "pvanalytics",
        _pvanalytics("serf_east_15min_ac_power.csv", "ac_power"),
        latitude=39.7406,
        longitude=-105.1774,
        lower_bound=0.0,
    ),
    PublicSeries(
        "wind-mast",
        "wind speed at 80 m, met mast",
        "m/s",
        pd.Timedelta(minutes=10),
        "UTC",
        "brightwind",
        _brightwind("demo_data.csv", "Spd80mN", "Timestamp"),
        lower_bound=0.0,
    ),
    PublicSeries(
        "pv-system-50",
        "PV AC power, NREL PVDAQ system 50",
        "W",
        pd.Timedelta(minutes=15),
        "America/Denver",
        "pvanalytics",
        _pvanalytics("system_50_ac_power_2_full_DST.parquet", "ac_power_2"),
        lower_bound=0.0,
    ),
    PublicSeries(
        "wind-merra2",
        "MERRA-2 wind speed at 50 m",
        "m/s",
        pd.Timedelta(hours=1),
        "UTC",
        "brightwind",
        _brightwind(
            "MERRA-2_SW_2000-01-01_2017-06-30.csv", "WS50m_m/s", "DateTime", start="2015-07-01"
        ),
        held_out=True,
        lower_bound=0.0,
    ),
    PublicSeries(
        "pv-poa-system-15",
        "plane-of-array irradiance, NREL PVDAQ system 15",
        "W/m²",
        pd.Timedelta(minutes=15),
        "Etc/GMT+7",  # the data's own fixed UTC-7 stamps
        "pvanalytics",
        _pvanalytics("system_15_poa_irradiance.parquet", "poa_irradiance__484"),
        held_out=True,
        lower_bound=0.0,
    ),
)


def regular(series: pd.Series, resolution: pd.Timedelta) -> pd.Series:
    """The series on its full grid, gaps as NaN."""
    grid = pd.date_range(series.index.min(), series.index.max(), freq=resolution)
    return series[~series.index.duplicated()].reindex(grid).astype(float)


def daily_origins(series: pd.Series, timezone: str, count: int, skip_last: int = 0) -> list:
    """The last ``count`` local midnights whose whole next day is in the series, oldest
    first, leaving the last ``skip_last`` such days aside."""
    local = series.index.tz_convert(timezone)
    midnights = pd.date_range(local.min().ceil("D"), local.max().floor("D"), freq="D")
    whole = [m for m in midnights if m + pd.Timedelta(days=1) <= local.max()]
    chosen = whole[len(whole) - skip_last - count : len(whole) - skip_last]
    return [pd.Timestamp(m).tz_convert("UTC") for m in chosen]


def describe(series: PublicSeries) -> str:
    values = series.load()
    gaps = float(np.mean(np.isnan(regular(values, series.resolution).to_numpy())))
    return (
        f"{series.name}: {len(values)} values, {values.index.min():%Y-%m-%d} to "
        f"{values.index.max():%Y-%m-%d}, {gaps:.1%} gaps"
    )


if __name__ == "__main__":
    for s in SERIES:
        print(describe(s))
