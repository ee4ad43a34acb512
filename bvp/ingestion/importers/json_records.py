"""``json_records``: a JSON array of records (or one under ``records_path``)."""

from __future__ import annotations

import orjson
import pyarrow as pa

from bvp.ingestion.importers.base import FileInput, Importer, ImportFileError, TableOptions


class JsonRecordsOptions(TableOptions):
    records_path: str | None = None  # e.g. "data.items" when the records are nested


class JsonRecordsImporter(Importer):
    Options = JsonRecordsOptions
    row_word = "record"
    first_row = 0  # records are counted as in the file's array: from 0

    def read_columns(self, file: FileInput) -> dict[str, pa.Array]:
        if isinstance(file, str):
            with open(file, "rb") as stream:
                raw = stream.read()
        else:
            raw = file.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise ImportFileError(f"malformed JSON: {error}") from None
        for key in (
            (self.options.records_path or "").split(".") if self.options.records_path else []
        ):
            if not isinstance(body, dict) or key not in body:
                raise ImportFileError(f"no records under {self.options.records_path!r}")
            body = body[key]
        if not isinstance(body, list):
            raise ImportFileError("expected a JSON array of records")
        columns = {}
        for name in self.options.wanted_columns:
            cells = []
            for i, record in enumerate(body):
                if not isinstance(record, dict):
                    raise ImportFileError(f"{self.row(i)}: not a JSON object")
                cells.append(record.get(name))
            if body and all(c is None for c in cells) and not any(name in r for r in body):
                continue  # the column is missing; read() names it
            columns[name] = _arrow(cells, name, self.row)
        return columns


def _arrow(cells: list, name: str, row) -> pa.Array:
    try:
        return pa.array(cells)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types (numbers and text): keep text so the bad record can be named.
        return pa.array([None if c is None else str(c) for c in cells], pa.string())
