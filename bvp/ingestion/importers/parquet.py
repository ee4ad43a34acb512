"""``parquet``: columnar files, read by Arrow (only the wanted columns)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from bvp.ingestion.importers.base import FileInput, Importer, ImportFileError


class ParquetImporter(Importer):
    first_row = 0

    def read_columns(self, file: FileInput) -> dict[str, pa.ChunkedArray]:
        try:
            schema = pq.read_schema(file)
            if not isinstance(file, str):
                file.seek(0)
            wanted = [c for c in self.options.wanted_columns if c in schema.names]
            if len(wanted) < len(self.options.wanted_columns):
                return {name: pa.chunked_array([], pa.null()) for name in schema.names}
            table = pq.read_table(file, columns=wanted)
        except (pa.ArrowInvalid, OSError) as error:
            raise ImportFileError(f"not a readable Parquet file: {error}") from None
        return {name: table.column(name) for name in table.column_names}
