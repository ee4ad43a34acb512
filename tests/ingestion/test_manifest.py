"""The manifest is checked on load; every mistake names its source and field."""

from __future__ import annotations

import textwrap

import pytest

from bvp.ingestion.manifest import ManifestError, load_manifest
from tests.ingestion.conftest import EXAMPLE_MANIFEST

GOOD_SOURCE = """
  - id: prices
    title: Prices
    description: Day-ahead prices
    tags: [prices]
    fetcher: {name: local_dir, options: {path: /tmp}}
    importers:
      - name: csv
        files: '\\.csv$'
        options: {timestamp_column: time, columns: {price: price}}
"""
SENSORS = """
sensors:
  price: {account: A, asset: Market, name: Price, unit: EUR/MWh, resolution: PT1H}
"""


def write(tmp_path, text: str):
    path = tmp_path / "manifest.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        load_manifest(write(tmp_path, text))
    return caught.value.problems


def test_example_manifest_loads_in_dependency_order():
    manifest = load_manifest(EXAMPLE_MANIFEST)
    order = [s.id for s in manifest.in_dependency_order()]
    assert order.index("weather_observations") < order.index("building_meter")
    assert order.index("building_meter") < order.index("building_backfill")
    assert [s.id for s in manifest.sources if s.is_manual] == ["building_backfill"]


def test_every_problem_is_named_by_source_and_field(tmp_path):
    found = problems(
        tmp_path,
        SENSORS
        + """
sources:
  - id: prices
    description: no title
    tags: [prices]
    fetcher: {name: http_index, options: {pattern: '(unclosed'}}
    importers:
      - name: csv
        files: '[bad'
        options: {timestamp_column: time, columns: {price: nowhere}}
  - id: notes
    title: Notes
    description: a source without a fetcher that is not core data
    tags: [misc]
""",
    )
    assert "source 'prices', field title: Field required" in found
    assert "source 'prices', field importers[0].files: not a regular expression: " in " ".join(
        found
    )
    assert any(
        p.startswith("source 'notes', field (top level): a source without a fetcher") for p in found
    )


def test_plugin_options_and_sensor_references_are_checked(tmp_path):
    found = problems(
        tmp_path,
        SENSORS
        + """
sources:
  - id: prices
    title: Prices
    description: Day-ahead prices
    tags: [prices]
    fetcher: {name: http_index, options: {index_url: 'http://x', retries: 3}}
    importers:
      - name: csv
        files: '\\.csv$'
        options: {timestamp_column: time, timezone: Mars/Olympus, columns: {price: nowhere}}
      - name: xlsx
        files: '\\.xlsx$'
""",
    )
    assert "source 'prices', field fetcher.options.retries: Extra inputs are not permitted" in found
    assert any("importers[0].options.timezone" in p and "IANA" in p for p in found)
    assert (
        "source 'prices', field importers[1].name: unknown importer 'xlsx': use one of csv, "
        "json_records, parquet or a dotted class path" in found
    )
    assert (
        "source 'prices', field importers[0].options.columns.price: sensor 'nowhere' is not "
        "declared under 'sensors'" in found
    )


def test_unknown_dependencies_and_cycles_are_refused(tmp_path):
    unknown = problems(tmp_path, SENSORS + "sources:" + GOOD_SOURCE + "    depends_on: [weather]\n")
    assert unknown == ["source 'prices', field depends_on[0]: unknown source 'weather'"]
    cycle = GOOD_SOURCE.replace("id: prices", "id: weather") + "    depends_on: [prices]\n"
    found = problems(
        tmp_path, SENSORS + "sources:" + GOOD_SOURCE + "    depends_on: [weather]\n" + cycle
    )
    assert len(found) == 1 and "dependency cycle" in found[0]
    assert "prices" in found[0] and "weather" in found[0]


def test_duplicate_ids_and_unset_variables_are_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("BVP_NO_SUCH_VARIABLE", raising=False)
    found = problems(tmp_path, SENSORS + "sources:" + GOOD_SOURCE + GOOD_SOURCE)
    assert found == ["field sources: source id 'prices' appears twice"]
    unset = GOOD_SOURCE.replace("/tmp", "'${BVP_NO_SUCH_VARIABLE}'")
    found = problems(tmp_path, SENSORS + "sources:" + unset)
    assert found == [
        "source 'prices', field fetcher.options.path: environment variable "
        "BVP_NO_SUCH_VARIABLE is not set"
    ]
    defaulted = GOOD_SOURCE.replace("/tmp", "'${BVP_NO_SUCH_VARIABLE:-/srv/drop}'")
    manifest = load_manifest(write(tmp_path, SENSORS + "sources:" + defaulted))
    assert manifest.source("prices").fetcher.options["path"] == "/srv/drop"


def test_cli_lists_problems_and_fails(app, tmp_path):
    path = write(tmp_path, "sources: []\n")
    result = app.test_cli_runner().invoke(args=["ingest", "sources", "--manifest", str(path)])
    assert result.exit_code == 1
    assert "cannot be used" in result.output
    assert "field sources: List should have at least 1 item" in result.output


def test_an_unknown_unit_is_named_with_its_close_matches(tmp_path):
    source = GOOD_SOURCE.replace(
        "columns: {price: price}", "columns: {price: {sensor: price, unit: kwh}}"
    )
    found = problems(tmp_path, SENSORS + "sources:" + source)
    assert found == [
        "source 'prices', field importers[0].options.columns.price.unit: 'kwh' is not a unit "
        "BVP knows (did you mean 'kWh', 'Wh' or 'kW'?)"
    ]
    found = problems(tmp_path, SENSORS.replace("EUR/MWh", "EUR/Mwh") + "sources:" + GOOD_SOURCE)
    assert found == [
        "sensor 'price', field unit: 'EUR/Mwh' is not a unit BVP knows (did you mean "
        "'EUR/MWh', 'EUR/MW' or 'EUR/kWh'?)"
    ]
