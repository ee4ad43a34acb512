"""Importers: a fetched file to beliefs of the manifest's sensors."""

from __future__ import annotations

from bvp.ingestion.fetchers import make_plugin
from bvp.ingestion.importers.base import Importer, ImportFileError, Table
from bvp.ingestion.importers.csv import CsvImporter
from bvp.ingestion.importers.json_records import JsonRecordsImporter
from bvp.ingestion.importers.parquet import ParquetImporter

BUILT_IN: dict[str, type[Importer]] = {
    "csv": CsvImporter,
    "json_records": JsonRecordsImporter,
    "parquet": ParquetImporter,
}

__all__ = ["BUILT_IN", "ImportFileError", "Importer", "Table", "make_importer"]


def make_importer(name: str, options: dict) -> Importer:
    return make_plugin(name, options, BUILT_IN, Importer, "importer")
