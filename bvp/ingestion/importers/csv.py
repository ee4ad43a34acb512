"""``csv``: delimited text, read by Arrow's multithreaded CSV reader."""

from __future__ import annotations

import csv as stdlib_csv
import io

import pyarrow as pa
import pyarrow.csv as pacsv
from pydantic import Field

from bvp.ingestion.importers.base import FileInput, Importer, ImportFileError, TableOptions


class CsvOptions(TableOptions):
    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    skip_rows: int = Field(0, ge=0)  # lines before the header


class CsvImporter(Importer):
    Options = CsvOptions
    row_word = "line"

    @property
    def first_row(self) -> int:  # line numbers as an editor shows them: header is line 1
        return 2 + self.options.skip_rows

    def read_columns(self, file: FileInput) -> dict[str, pa.ChunkedArray]:
        options = self.options
        read = pacsv.ReadOptions(encoding=options.encoding, skip_rows=options.skip_rows)
        parse = pacsv.ParseOptions(delimiter=options.delimiter)
        header = self._header(file)
        wanted = [c for c in options.wanted_columns if c in header]
        if len(wanted) < len(options.wanted_columns):
            return {c: pa.chunked_array([], pa.null()) for c in header}  # read() names the missing
        convert = pacsv.ConvertOptions(
            include_columns=wanted,
            strings_can_be_null=True,
            timestamp_parsers=[pacsv.ISO8601],
        )
        try:
            table = pacsv.read_csv(
                file, read_options=read, parse_options=parse, convert_options=convert
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise ImportFileError(_arrow_message(error)) from None
        return {name: table.column(name) for name in table.column_names}

    def _header(self, file: FileInput) -> list[str]:
        """The column names, read from the first lines (the file is rewound after)."""
        options = self.options
        opened = open(file, "rb") if isinstance(file, str) else None
        stream = opened or file
        try:
            start = stream.tell()
            head = stream.read(1 << 16)
            stream.seek(start)
        finally:
            if opened:
                opened.close()
        encoding = (
            "utf-8-sig" if options.encoding.lower() in ("utf-8", "utf8") else options.encoding
        )
        try:  # a mis-encoded body is Arrow's to report, with its line
            text = head.decode(encoding, errors="replace")
        except LookupError:
            raise ImportFileError(f"unknown encoding {options.encoding!r}") from None
        lines = text.splitlines()[options.skip_rows : options.skip_rows + 1]
        if not lines:
            raise ImportFileError("the file is empty: no header line")
        return next(stdlib_csv.reader(io.StringIO(lines[0]), delimiter=options.delimiter))


def _arrow_message(error: Exception) -> str:
    text = str(error).strip()
    return text.replace("CSV parse error: ", "malformed CSV: ").replace(
        "CSV conversion error", "malformed CSV"
    )
