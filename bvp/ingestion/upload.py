"""Sensor data uploaded as a CSV file (the API's upload routes and the dashboard's form).

The file is read by the ingestion CSV importer and stored by the same loader as a
manifest's files, so an upload follows the rules of every other way in: timestamps with
UTC offsets (or local times in a declared time zone, never guessed across a DST change),
numbers only, events on the sensor's grid, values converted from the file's unit. A bad
file stores nothing, and the error names its line and column.

The file: a header line, then one event per line: its start, then its value (empty: no
value). A header like ``value [kW]`` gives the values' unit (what
``GET /api/v1/sensors/<id>/data?format=csv`` writes); so can the ``unit`` field.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult, latest_beliefs
from bvp.data.models import Sensor
from bvp.data.units import UnitError, convert
from bvp.ingestion.importers import ImportFileError
from bvp.ingestion.importers.csv import CsvImporter
from bvp.ingestion.loading import store_table

UNIT_IN_HEADER = re.compile(r"\[\s*([^\]]+?)\s*\]\s*$")
MEASURED_INSTANTLY = "event_end"  # belief time: each event's end, as a meter reads


class UploadError(ValueError):
    """A file (or form field) that cannot be stored; ``field`` names the form field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Upload:
    rows: int
    empty: int  # rows without a value
    result: SaveResult


def store_upload(
    session: Session,
    sensor: Sensor,
    content: bytes,
    source_id: int,
    *,
    field: str = "file",
    unit: str | None = None,
    timezone: str | None = None,
    belief_time: datetime | str | None = MEASURED_INSTANTLY,
    default_unit: str | None = None,
) -> Upload:
    """Store a CSV file's values as beliefs of ``sensor``, inside the caller's transaction.

    ``belief_time``: ``"event_end"`` (each value known when its event ended, the
    default: uploading the same file again stores nothing), a moment for all values, or
    None for now, where values this source already believes are left out as unchanged.
    ``unit``: the values' unit, else the header's, else ``default_unit``; one is needed.
    """
    header = _header(content, field)
    if len(header) != 2:
        raise UploadError(
            f"line 1: expected 2 columns (event start, value), found {len(header)}: "
            f"{', '.join(map(repr, header))}",
            field,
        )
    stamp, column = header
    found = UNIT_IN_HEADER.search(column)
    unit = unit or (found.group(1) if found else None) or default_unit
    if not unit:
        raise UploadError(
            "give the values' unit: a header like 'value [kW]', or this field", "unit"
        )
    rule = "event_end" if belief_time == MEASURED_INSTANTLY else "fetched_at"
    try:
        importer = CsvImporter(
            {
                "timestamp_column": stamp,
                "timezone": timezone,
                "columns": {column: {"sensor": "uploaded"}},
                "belief_time": {"rule": rule},
            }
        )
    except ValidationError:
        raise UploadError(f"{timezone!r} is not a known time zone", "timezone") from None
    try:
        table = importer.read(io.BytesIO(content))
        values = convert(table.values[column], unit, sensor.unit, sensor.event_resolution)
    except ImportFileError as error:
        raise UploadError(str(error), field) from None
    except UnitError as error:
        raise UploadError(str(error), "unit") from None
    duplicated = table.event_start.duplicated()
    if duplicated.any():
        first = int(np.flatnonzero(duplicated)[0])
        raise UploadError(
            f"{importer.row(first)}: a second value for {table.event_start[first].isoformat()}",
            field,
        )
    empty = int(np.isnan(values).sum())
    unchanged = 0
    if belief_time is None and table.rows:
        known = _known(session, sensor, table.event_start, source_id)
        same = known == values
        unchanged = int(same.sum())
        values = np.where(same, np.nan, values)  # left out; rows (and their lines) kept
    table.values[column] = values
    moment = datetime.now(UTC) if rule == "event_end" or belief_time is None else belief_time
    try:
        result, _ = store_table(session, table, importer, {"uploaded": sensor}, source_id, moment)
    except ImportFileError as error:
        raise UploadError(str(error), field) from None
    result = SaveResult(
        result.created,
        result.updated,
        result.unchanged + unchanged,
        result.skipped_nulls - unchanged,
    )
    return Upload(table.rows, empty, result)


def add_uploads(one: Upload, other: Upload) -> Upload:
    """Two uploads' counts together (several files in one request)."""
    a, b = one.result, other.result
    return Upload(
        one.rows + other.rows,
        one.empty + other.empty,
        SaveResult(
            a.created + b.created,
            a.updated + b.updated,
            a.unchanged + b.unchanged,
            a.skipped_nulls + b.skipped_nulls,
        ),
    )


def _header(content: bytes, field: str) -> list[str]:
    if not content.strip():
        raise UploadError("the file is empty", field)
    first = content[: 1 << 16].decode("utf-8-sig", errors="replace").splitlines()[0]
    return next(csv.reader(io.StringIO(first)))


def _known(session: Session, sensor: Sensor, events: pd.DatetimeIndex, source_id: int):
    known = latest_beliefs(
        session, sensor.id, events.min(), events.max() + sensor.event_resolution, source=source_id
    )
    return known["event_value"].reindex(events).to_numpy()
