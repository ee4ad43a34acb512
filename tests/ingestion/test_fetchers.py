"""Fetching: interrupted downloads, retries, timeouts, hostile names, webhooks, archives."""

from __future__ import annotations

import logging
import textwrap

from sqlalchemy import select

from bvp.ingestion.registry import DatafileRecord
from tests.ingestion.conftest import beliefs_per_sensor, file_requests

PRICES_09 = "/prices/files/prices_2016_09.csv"


def held_names(db, source_id: str) -> list[str]:
    db.expire_all()
    return sorted(
        db.scalars(select(DatafileRecord.name).where(DatafileRecord.source_id == source_id))
    )


def test_an_interrupted_download_is_not_kept_and_is_fetched_on_the_next_run(
    ingest, db, server, app, monkeypatch, tmp_path
):
    monkeypatch.setitem(app.config, "INGEST_HTTP_ATTEMPTS", 1)
    server.fail(PRICES_09, "slow:0", "truncate")  # the HEAD for its version goes through
    first = ingest("getauto", "--source", "wholesale_prices")
    assert first.exit_code == 1
    assert "prices_2016_09.csv: RemoteProtocolError" in first.stderr
    assert held_names(db, "wholesale_prices") == ["prices_2016_08.csv", "prices_2016_10.csv"]
    complete = [p.name for p in (tmp_path / "raw").rglob("*.csv")]
    assert "prices_2016_09.csv" not in complete  # only a .part was left behind
    assert ingest("runimporters").exit_code == 0
    assert beliefs_per_sensor(db)["Day-ahead price"] == 1800 - 720  # September is missing

    downloads = len(file_requests(server))
    second = ingest("getauto", "--source", "wholesale_prices")
    assert second.exit_code == 0 and "1 files fetched" in second.output
    assert file_requests(server)[downloads:] == [PRICES_09]  # just the missing one
    ingest("runimporters")
    assert beliefs_per_sensor(db)["Day-ahead price"] == 1800


def test_transient_failures_are_retried_within_the_run(ingest, db, server):
    server.fail(PRICES_09, "slow:0", "500", "truncate")  # HEAD fine, then two bad GETs
    server.fail("/prices/", "503")
    result = ingest("getauto", "--source", "wholesale_prices")
    assert result.exit_code == 0, result.output
    assert "3 files fetched" in result.output
    assert file_requests(server).count(PRICES_09) == 3


def test_a_source_that_hangs_times_out_with_a_clear_error(ingest, server, app, monkeypatch):
    monkeypatch.setitem(app.config, "INGEST_HTTP_ATTEMPTS", 1)
    monkeypatch.setitem(app.config, "INGEST_HTTP_TIMEOUT_SECONDS", 0.3)
    server.fail("/prices/", "slow:2")
    result = ingest("getauto", "--source", "wholesale_prices")
    assert result.exit_code == 1
    assert "wholesale_prices: index" in result.stderr and "ReadTimeout" in result.stderr


def test_paged_api_pages_are_fetched_in_waves_until_a_short_page(ingest, server):
    ingest("getauto", "--source", "weather_observations")
    offsets = [q["$offset"] for _, path, q in server.requests if path.startswith("/weather/")]
    assert sorted(offsets, key=int) == ["0", "500", "1000"]  # 3 at once; the last was short
    assert {q["$limit"] for _, p, q in server.requests if p.startswith("/weather/")} == {"500"}


def test_json_index_versions_make_a_changed_file_a_new_version(
    ingest, db, server, fixture_root, tmp_path, app, monkeypatch
):
    manifest = tmp_path / "json_index.yaml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            sources:
              - id: prices
                title: Prices by JSON index
                description: The same files, listed with their hashes
                tags: [prices]
                fetcher:
                  name: http_index
                  options: {{index_url: "{server.url}/prices/index.json", pattern: '\\.csv$'}}
            """
        )
    )
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(manifest))
    assert "3 files fetched" in ingest("getauto").output
    assert "0 files fetched" in ingest("getauto").output
    october = fixture_root / "prices" / "prices_2016_10.csv"
    october.write_text(october.read_text().replace("\n", "\n", 1) + "")
    october.write_text(october.read_text().rstrip("\n") + "\n\n")
    assert "1 files fetched" in ingest("getauto").output
    assert held_names(db, "prices").count("prices_2016_10.csv") == 2


def test_hostile_file_names_are_refused_and_nothing_escapes_the_store(
    ingest, db, tmp_path, app, monkeypatch
):
    manifest = tmp_path / "hostile.yaml"
    manifest.write_text(
        textwrap.dedent(
            """
            sources:
              - id: hostile
                title: A compromised source
                description: Offers names that try to escape the raw store
                tags: [test]
                fetcher:
                  name: tests.ingestion.plugins:HostileFetcher
                  options: {names: ["../../escape.csv", ".hidden.csv", "a\\\\b.csv", "ok.csv"]}
            """
        )
    )
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(manifest))
    result = ingest("getauto")
    assert result.exit_code == 1
    for name in ("../../escape.csv", ".hidden.csv", "a\\b.csv"):
        assert f"unsafe file name {name!r}: refused" in result.stderr
    assert held_names(db, "hostile") == ["ok.csv"]
    assert not list(tmp_path.rglob("escape.csv")) and not list(tmp_path.rglob(".hidden.csv"))


def test_run_summary_goes_to_the_webhook(ingest, server):
    ingest("getauto")
    ingest("runimporters")
    assert len(server.webhooks) == 2
    summary = server.webhooks[-1]
    assert summary["text"].startswith("BVP ingestion run 2 succeeded: 0 files fetched, 9 imported")
    assert summary["summary"]["files_imported"] == 9
    assert summary["summary"]["sources"]["wholesale_prices"]["rows_read"] == 1800


def test_a_webhook_that_is_down_does_not_fail_the_run_and_its_url_is_never_logged(
    ingest, server, caplog
):
    server.fail("/hooks/T0SECRET/B0SECRET", "down")
    with caplog.at_level(logging.DEBUG):
        result = ingest("getauto")
    assert result.exit_code == 0, result.output
    assert "run summary webhook unreachable" in caplog.text
    assert "T0SECRET" not in caplog.text + result.output
    server.fail("/hooks/T0SECRET/B0SECRET", "503")
    with caplog.at_level(logging.DEBUG):
        assert ingest("runimporters").exit_code == 0
    assert "run summary webhook answered HTTP 503" in caplog.text
    assert "T0SECRET" not in caplog.text


def test_archivedata_copies_only_what_the_archive_lacks(ingest, tmp_path):
    ingest("getauto")
    archive = tmp_path / "archive"
    first = ingest("archivedata", "--to", str(archive))
    assert first.exit_code == 0, first.output
    assert "9 files copied, 0 were already archived" in first.output
    originals = sorted(p.relative_to(tmp_path / "raw") for p in (tmp_path / "raw").rglob("*.*"))
    copies = sorted(p.relative_to(archive) for p in archive.rglob("*.*"))
    originals = [p for p in originals if (tmp_path / "raw" / p).is_file()]
    assert copies == originals
    assert (
        "0 files copied, 9 were already archived"
        in ingest("archivedata", "--to", str(archive)).output
    )


def test_smoketests_catch_data_that_went_missing(ingest, db, tmp_path):
    ingest("getauto")
    ingest("runimporters")
    assert "smoketests.yaml does not exist" in ingest("smoketests").output
    written = ingest("updatesmoketests")
    assert "wrote expectations for 3 sources, 4 sensors" in written.output
    assert ingest("smoketests").exit_code == 0
    reset = ingest("run", "weather_observations", "--mode", "full", "--reset", "--yes")
    assert reset.exit_code == 0  # re-imported in full: expectations still met
    from sqlalchemy import text

    db.execute(text("DELETE FROM timed_belief WHERE event_start >= '2016-10-01'"))
    db.commit()
    failed = ingest("smoketests")
    assert failed.exit_code == 1
    assert "weather_observations/observed_wind_speed: newest event" in failed.stderr
    assert "building_meter/building_load: " in failed.stderr


def test_a_file_that_changed_behind_an_html_index_is_fetched_again(ingest, db, fixture_root):
    """The current month's file grows every day under the same name."""
    ingest("getauto", "--source", "wholesale_prices")
    ingest("runimporters")
    october = fixture_root / "prices" / "prices_2016_10.csv"
    october.write_text(
        october.read_text() + "2016-10-15T00:00:00-06:00,21.50,2016-10-14T12:00:00-06:00\n"
    )
    result = ingest("run", "wholesale_prices")
    assert result.exit_code == 0, result.output
    assert "1 files fetched, 1 imported" in result.output
    assert "1 beliefs created" in result.output
    assert held_names(db, "wholesale_prices").count("prices_2016_10.csv") == 2


def test_api_keys_in_source_urls_stay_out_of_errors_and_records(
    ingest, db, server, tmp_path, app, monkeypatch, caplog
):
    manifest = tmp_path / "keyed.yaml"
    manifest.write_text(
        textwrap.dedent(
            f"""
            sources:
              - id: keyed
                title: A portal that wants a key in the URL
                description: Its index and its API both take ?apikey=
                tags: [prices]
                fetcher:
                  name: http_index
                  options: {{index_url: "{server.url}/prices/?apikey=S3CR3T"}}
              - id: keyed_api
                title: The same portal's paged API
                description: Pages with a key
                tags: [weather]
                fetcher:
                  name: paged_api
                  options:
                    url: "{server.url}/weather/resource/observations.json?apikey=S3CR3T"
                    updated_field: updated_at
            """
        )
    )
    monkeypatch.setitem(app.config, "INGEST_MANIFEST", str(manifest))
    monkeypatch.setitem(app.config, "INGEST_HTTP_ATTEMPTS", 1)
    server.fail("/prices/", "503")
    with caplog.at_level(logging.DEBUG):
        failed = ingest("getauto")
        fine = ingest("run", "keyed_api")
    assert failed.exit_code == 1 and "HTTP 503" in failed.stderr
    assert fine.exit_code == 0, fine.output
    from bvp.ingestion.load_runs import LoadRun

    recorded = [r.error or "" for r in db.scalars(select(LoadRun))]
    recorded += [r.remote or "" for r in db.scalars(select(DatafileRecord))]
    assert any("observations.json" in text for text in recorded)
    everything = failed.output + fine.output + caplog.text + " ".join(recorded)
    assert "S3CR3T" not in everything
