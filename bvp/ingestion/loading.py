"""A read ``Table`` to beliefs of the manifest's sensors, stored in one ``save_beliefs``.

Each column goes to its sensor in the sensor's unit, on the sensor's grid, with belief
times from the importer's rule. All columns of a file travel in one binary COPY.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult, save_beliefs
from bvp.data.models import Sensor
from bvp.data.sensor_data import first_off_grid
from bvp.data.units import UnitError, convert
from bvp.data.utc import iso_duration
from bvp.ingestion.fields import parse_human_duration
from bvp.ingestion.importers import Importer, ImportFileError, Table


def store_table(
    session: Session,
    table: Table,
    importer: Importer,
    sensors: dict[str, Sensor],
    source_id: int,
    fetched_at: datetime,
) -> tuple[SaveResult, set[int]]:
    """Save the table's values; the result, and the sensors it changed (if it changed any)."""
    options = importer.options
    parts: dict[str, list[np.ndarray]] = {
        "sensor_id": [],
        "event_start": [],
        "belief_time": [],
        "event_value": [],
    }
    for column, target in options.columns.items():
        sensor = sensors[target.sensor]
        values = table.values[column]
        try:
            values = convert(
                values, target.unit or sensor.unit, sensor.unit, sensor.event_resolution
            )
        except UnitError as error:
            raise ImportFileError(f"column {column!r}: {error}") from None
        _check_grid(table.event_start, sensor, column, importer)
        parts["sensor_id"].append(np.full(table.rows, sensor.id, dtype=np.int64))
        parts["event_start"].append(table.event_start.asi8)
        parts["belief_time"].append(_belief_times(table, options, sensor, fetched_at).asi8)
        parts["event_value"].append(values)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    for name in ("event_start", "belief_time"):
        arrays[name] = pd.DatetimeIndex(arrays[name].view("datetime64[ns]")).tz_localize("UTC")
    result = save_beliefs(session, arrays, source_id=source_id)
    changed = result.created + result.updated > 0
    return result, {sensors[t.sensor].id for t in options.columns.values()} if changed else set()


def _belief_times(table: Table, options, sensor: Sensor, fetched_at: datetime) -> pd.DatetimeIndex:
    rule = options.belief_time
    if rule.rule == "column":
        return table.belief_time
    if rule.rule == "fetched_at":
        moment = pd.Timestamp(fetched_at).tz_convert("UTC").as_unit("ns")
        return pd.DatetimeIndex([moment] * table.rows) if table.rows else table.event_start
    lag = parse_human_duration(rule.lag)
    return table.event_start + sensor.event_resolution + lag


def _check_grid(events: pd.DatetimeIndex, sensor: Sensor, column: str, importer: Importer) -> None:
    """Events start on the sensor's grid (``first_off_grid``); the error names the row."""
    first = first_off_grid(events, sensor.event_resolution, sensor.timezone)
    if first is not None:
        raise ImportFileError(
            f"{importer.row(first)}, column {column!r}: {events[first].isoformat()} is not on "
            f"sensor {sensor.name!r}'s {iso_duration(sensor.event_resolution)} grid"
        )
