"""Putting demo structure and real sample data into the database, and taking it out.

Every function runs inside the caller's transaction, is idempotent (running it twice
changes nothing the second time) and returns counts so the CLI can say what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bvp.data.beliefs import SaveResult, save_beliefs
from bvp.data.models import Account, Asset, DataSource, Role, Sensor, TimedBelief, User
from bvp.data.models.accounts import ensure_roles, find_user_by_email
from bvp.data.models.data_sources import forecaster_ids, get_or_create_source
from bvp.data.passwords import hash_password
from bvp.data.sample_data import RESOLUTION, SERIES, SITE, load_sample_series

DEMO_ACCOUNT = "Demo account"
SAMPLE_SOURCE = "NREL SERF (pvanalytics sample data)"


@dataclass
class StructureReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    sensors: dict[str, int] = field(default_factory=dict)  # sample key -> sensor id


def populate_structure(
    session: Session, admin_email: str, admin_password: str | None
) -> StructureReport:
    """Roles, the demo account, its admin user, and the sample assets and sensors.

    ``admin_password`` is only needed when the admin user does not exist yet; an
    existing user's password is left alone.
    """
    report = StructureReport()
    roles = {r.name: r for r in ensure_roles(session)}
    account = _get_or_add(
        session, report, Account, {"name": DEMO_ACCOUNT}, {"timezone": SITE["timezone"]}
    )
    admin = find_user_by_email(session, admin_email)
    if admin is None:
        if not admin_password:
            raise ValueError("admin password: needed to create the admin user")
        admin = User(
            email=admin_email.strip().lower(),
            password_hash=hash_password(admin_password),
            account=account,
            roles=[roles["admin"], roles["account-admin"]],
        )
        session.add(admin)
        report.created.append(f"user {admin.email} (admin)")
    else:
        report.existing.append(f"user {admin.email}")

    for series in SERIES:
        asset = _get_or_add(
            session,
            report,
            Asset,
            {"account_id": account.id, "name": series.asset},
            {"asset_type": series.asset_type, **SITE},
        )
        sensor = _get_or_add(
            session,
            report,
            Sensor,
            {"asset_id": asset.id, "name": series.sensor},
            {
                "unit": series.unit,
                "event_resolution": RESOLUTION,
                "timezone": SITE["timezone"],
                "attributes": {
                    "country": "US",
                    "sample_series": series.key,
                    **({} if series.lower_bound is None else {"lower_bound": series.lower_bound}),
                },
            },
        )
        report.sensors[series.key] = sensor.id
    pv = session.get(Sensor, report.sensors["pv_power"])
    regressors = [report.sensors["ghi"], report.sensors["air_temperature"]]
    if pv.attributes.get("regressors") != regressors:
        pv.attributes = {**pv.attributes, "regressors": regressors}
    session.flush()
    return report


def populate_sample_data(
    session: Session, sensors: dict[str, int], hold_back: timedelta = timedelta(0)
) -> dict[str, SaveResult]:
    """Measurements from the sample files; each believed at the end of its interval.

    ``hold_back`` leaves the last stretch of the sample out (the demo posts it through
    the API, as a client would).
    """
    source = get_or_create_source(session, SAMPLE_SOURCE, "importer")
    results = {}
    for series in SERIES:
        values = load_sample_series(series)
        values = values[values.index < values.index[-1] + RESOLUTION - hold_back]
        results[series.key] = save_beliefs(
            session,
            {
                "event_start": values.index,
                "belief_time": values.index + RESOLUTION,
                "event_value": values.to_numpy(),
            },
            sensor_id=sensors[series.key],
            source_id=source.id,
        )
    return results


def sample_sensor_ids(session: Session) -> dict[str, int]:
    """Sample series key -> sensor id, for the sensors populate_structure made."""
    rows = session.execute(select(Sensor.id, Sensor.attributes["sample_series"].astext)).all()
    return {key: sensor_id for sensor_id, key in rows if key}


def depopulate_beliefs(session: Session, forecasts: bool) -> int:
    """Delete forecasts (forecaster sources) or measurements (all other sources)."""
    condition = (
        TimedBelief.source_id.in_(forecaster_ids())
        if forecasts
        else TimedBelief.source_id.not_in(forecaster_ids())
    )
    return session.execute(delete(TimedBelief).where(condition)).rowcount


def depopulate_structure(session: Session) -> dict[str, int]:
    """Delete every account (with its users, assets, sensors, beliefs), source and role."""
    counts = {}
    for model in (Account, DataSource, Role):
        counts[model.__tablename__] = session.scalar(select(func.count()).select_from(model))
        session.execute(delete(model))
    return counts


def _get_or_add(session: Session, report: StructureReport, model, key: dict, values: dict):
    instance = session.scalar(select(model).filter_by(**key))
    label = f"{model.__tablename__} {key.get('name')}"
    if instance is None:
        instance = model(**key, **values)
        session.add(instance)
        session.flush()
        report.created.append(label)
    elif label not in report.created:  # (made earlier in this run: not "already there")
        report.existing.append(label)
    return instance
