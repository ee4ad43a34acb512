"""Smoke tests: per source, what the database should at least hold after imports.

``updatesmoketests`` writes today's figures (beliefs per sensor, newest event) to a YAML
file that is kept in version control; ``smoketests`` (and every import run) checks that
the database still holds at least that much: fewer beliefs or an older newest event
means data went missing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from bvp.data.models.beliefs import beliefs_per_source_and_sensor
from bvp.data.models.sensors import sensors_with_attribute
from bvp.data.utc import to_utc
from bvp.ingestion.manifest import Manifest


def current_figures(session: Session, manifest: Manifest) -> dict[str, dict]:
    """source id -> {sensor key -> {"beliefs": n, "latest_event_start": iso}}."""
    rows = beliefs_per_source_and_sensor(session, "importer", "ingestion")
    key_of = {
        s.id: s.attributes.get("ingested_as")
        for s in session.scalars(sensors_with_attribute("ingested_as"))
    }
    figures: dict[str, dict] = {s.id: {} for s in manifest.sources if s.sensor_keys()}
    for source_id, sensor_id, count, latest in rows:
        if source_id in figures:
            key = key_of.get(sensor_id, str(sensor_id))
            figures[source_id][key] = {"beliefs": count, "latest_event_start": latest.isoformat()}
    return {source_id: sensors for source_id, sensors in figures.items() if sensors}


def write_expectations(path: Path, figures: dict[str, dict]) -> None:
    header = "# Smoke-test expectations: written by `flask ingest updatesmoketests`.\n"
    path.write_text(header + yaml.safe_dump(figures, sort_keys=True), encoding="utf-8")


def check_expectations(path: Path, figures: dict[str, dict]) -> list[str]:
    """Every way the database holds less than expected; empty when all is well."""
    if not path.exists():
        return []
    expected = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    failures = []
    for source_id, sensors in expected.items():
        for key, want in (sensors or {}).items():
            have = figures.get(source_id, {}).get(key)
            if have is None:
                failures.append(f"{source_id}/{key}: no beliefs (expected {want['beliefs']:,})")
                continue
            if have["beliefs"] < want["beliefs"]:
                failures.append(
                    f"{source_id}/{key}: {have['beliefs']:,} beliefs, "
                    f"expected at least {want['beliefs']:,}"
                )
            if _time(have["latest_event_start"]) < _time(want["latest_event_start"]):
                failures.append(
                    f"{source_id}/{key}: newest event {have['latest_event_start']}, "
                    f"expected {want['latest_event_start']} or later"
                )
    return failures


def _time(text: str) -> datetime:
    return to_utc(str(text), "latest_event_start")
