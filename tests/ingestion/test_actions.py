"""After-import actions, status, and a raw store that is not a local folder."""

from __future__ import annotations

import textwrap

import fsspec
import pytest
from sqlalchemy import text

from tests.ingestion.conftest import EXAMPLE_MANIFEST, beliefs_per_sensor
from tests.ingestion.test_pipeline import EXPECTED


@pytest.fixture
def price_view(db):
    db.execute(
        text(
            "CREATE MATERIALIZED VIEW ingest_test_price_count AS "
            "SELECT count(*) AS n FROM timed_belief"
        )
    )
    db.commit()
    yield "ingest_test_price_count"
    db.rollback()
    db.execute(text("DROP MATERIALIZED VIEW ingest_test_price_count"))
    db.commit()


def test_after_import_refreshes_a_view_and_calls_the_source_webhook(
    ingest, db, server, tmp_path, app, monkeypatch, price_view
):
    manifest = EXAMPLE_MANIFEST.read_text().replace(
        "    after_import: [enqueue_forecasts]\n    index_url:",
        textwrap.indent(
            textwrap.dedent(
                f"""\
                after_import:
                  - refresh_materialized_view: {price_view}
                  - webhook: {server.url}/hooks/prices
                index_url:"""
            ),
            "    ",
        ),
        1,
    )
    path = tmp_path / "manifest.yaml"
    path.write_text(manifest)
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(path))
    result = ingest("run", "wholesale_prices")
    assert result.exit_code == 0, result.output
    assert db.execute(text(f"SELECT n FROM {price_view}")).scalar() == 1800
    source_hook = [w for w in server.webhooks if w["summary"].get("source") == "wholesale_prices"]
    assert source_hook[0]["text"].startswith("Day-ahead prices, Golden node: 3 files imported")
    assert source_hook[0]["summary"]["beliefs_created"] == 1800


def test_status_shows_each_source_with_its_lag(ingest):
    before = ingest("status")
    assert before.exit_code == 0, before.output
    assert "wholesale_prices: Day-ahead prices, Golden node" in before.output
    assert "no files" in before.output and "never imported" in before.output
    ingest("getauto")
    ingest("runimporters")
    after = ingest("status")
    assert "3 imported; 1,800 rows read" in after.output
    assert "newest event: 2016-10-15T05:00:00+00:00" in after.output
    # The fixtures are from 2016: a daily source with nothing newer is years late.
    assert "daily at 12:00 America/Denver (lag 1 hour): late by" in after.output
    assert "runimporters all" in after.output and "getauto      all" in after.output


def test_a_raw_store_behind_fsspec_works_like_a_folder(ingest, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "INGEST_STORE_URL", "memory://bvp-test-raw")
    try:
        assert ingest("getauto").exit_code == 0
        assert ingest("runimporters").exit_code == 0
        assert beliefs_per_sensor(db) == EXPECTED
        stored = fsspec.filesystem("memory").find("/bvp-test-raw")
        assert len([p for p in stored if "/.incoming/" not in p]) == 9
    finally:
        fsspec.filesystem("memory").rm("/bvp-test-raw", recursive=True)
