"""Data a signed-in user stores on a sensor: a posted series, or uploaded CSV files.

The one flow behind the API's data routes (BVP's and the FlexMeasures-compatible ones)
and the dashboard's upload form: in one transaction, the user's sensor (another
account's is as missing as one that does not exist), their right to write data, their
data source (their email, after a label if one is given), the upsert; after commit,
the forecasts the new data calls for, when anything changed. Routes parse the request
and answer ``SensorNotFoundError`` and ``WriteNotAllowedError`` in their own way (a 404 and a 403).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult
from bvp.data.models import Sensor
from bvp.data.models.accounts import WRITE_DATA_ROLES, scope_of
from bvp.data.models.data_sources import get_or_create_source
from bvp.data.models.sensors import find_sensor
from bvp.data.sensor_data import PostedSeries, store_posted_series
from bvp.data.transactional import transactional
from bvp.forecasting.outbox import PendingJobs, enqueue_after_commit
from bvp.forecasting.settings import JobSettings
from bvp.ingestion.upload import MEASURED_INSTANTLY, Upload, store_upload


class Writer(Protocol):
    """Who stores: the API's ``User`` or the dashboard's signed-in user."""

    id: int
    email: str
    account_id: int

    def has_role(self, name: str) -> bool: ...


class SensorNotFoundError(LookupError):
    def __init__(self, sensor_id: int):
        super().__init__(f"There is no sensor {sensor_id}.")
        self.sensor_id = sensor_id


class WriteNotAllowedError(PermissionError):
    """The user's role does not write data."""


# Stores into the sensor as the given data source, inside the transaction.
Store = Callable[[Session, Sensor, int], SaveResult | Upload]


def store_for_user(
    user: Writer,
    sensor_id: int,
    what: PostedSeries | Store,
    jobs: JobSettings,
    *,
    label: str | None = None,
) -> tuple[SaveResult | Upload, PendingJobs]:
    """Store a posted series (or whatever ``what`` stores) on the user's sensor, as the
    user's data source; the forecasts it calls for are queued after commit (``PendingJobs``
    is filled in then)."""
    pending = PendingJobs()
    with transactional() as session:
        sensor = find_sensor(session, sensor_id, scope_of(user))
        if sensor is None:
            raise SensorNotFoundError(sensor_id)
        if not any(user.has_role(role) for role in WRITE_DATA_ROLES):
            raise WriteNotAllowedError("Your role does not allow writing data.")
        name = f"{label} ({user.email})" if label else user.email
        source = get_or_create_source(session, name, "user", user_id=user.id)
        if isinstance(what, PostedSeries):
            stored = store_posted_series(session, sensor, what, source.id)
        else:
            stored = what(session, sensor, source.id)
        result = stored.result if isinstance(stored, Upload) else stored
        if result.created or result.updated:
            pending = enqueue_after_commit(session, sensor.id, jobs)
    return stored, pending


def upload_for_user(
    user: Writer,
    sensor_id: int,
    content: bytes,
    jobs: JobSettings,
    *,
    unit: str | None = None,
    timezone: str | None = None,
    belief_time: datetime | str | None = MEASURED_INSTANTLY,
) -> tuple[Upload, PendingJobs]:
    """Store a CSV file (``store_upload``: a bad line stores nothing, ``UploadError``
    names it) on the user's sensor, as ``store_for_user``."""

    def upload(session: Session, sensor: Sensor, source_id: int) -> Upload:
        return store_upload(
            session,
            sensor,
            content,
            source_id,
            unit=unit,
            timezone=timezone,
            belief_time=belief_time,
        )

    return store_for_user(user, sensor_id, upload, jobs)
