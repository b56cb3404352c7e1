"""Truth tables that grow with every dataset (who each mention is, which faults were
planted), kept on disk instead of in memory while the city is written.

Each dataset's rows are appended to an Arrow file beside the output as soon as the
dataset is written; at the end they are streamed into one Parquet file a row group at a
time. The Parquet file is byte-for-byte what ``pandas.concat(frames).to_parquet(path,
index=False)`` writes (same schema and pandas metadata, same row groups), so outputs of
a given seed do not depend on how the city was buffered.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP = 1024 * 1024  # pyarrow's default when write_table is given no row_group_size


class Spill:
    """An append-only table of string columns on disk."""

    def __init__(self, path: Path, columns: list[str]):
        self.path = Path(path)
        self.columns = list(columns)
        self.schema = pa.schema([(c, pa.string()) for c in self.columns])
        self.rows = 0
        self._sink = pa.ipc.new_file(str(self.path), self.schema)

    def add(self, frame: pd.DataFrame) -> None:
        if not len(frame):
            return
        table = pa.Table.from_pandas(frame[self.columns], schema=self.schema, preserve_index=False)
        self._sink.write_table(table.replace_schema_metadata(None))
        self.rows += len(frame)

    def to_parquet(self, out: Path) -> None:
        """Write everything added so far as one Parquet file, then delete the spill."""
        self._sink.close()
        if not self.rows:  # what pandas writes for an empty concatenation
            pd.DataFrame(columns=self.columns).to_parquet(out, index=False)
            self.path.unlink()
            return
        sample = pd.DataFrame({c: ["x"] for c in self.columns})
        schema = pa.Table.from_pandas(sample, preserve_index=False).schema
        with pa.memory_map(str(self.path)) as src, pq.ParquetWriter(str(out), schema) as writer:
            reader = pa.ipc.open_file(src)
            buffered: list[pa.RecordBatch] = []
            held = 0
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                buffered.append(batch)
                held += batch.num_rows
                while held >= ROW_GROUP:
                    table = pa.Table.from_batches(buffered, self.schema)
                    writer.write_table(_group(table.slice(0, ROW_GROUP), schema), row_group_size=ROW_GROUP)
                    rest = table.slice(ROW_GROUP)
                    buffered, held = rest.to_batches(), rest.num_rows
            if held:
                writer.write_table(_group(pa.Table.from_batches(buffered, self.schema), schema), row_group_size=ROW_GROUP)
        self.path.unlink()


def _group(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """One contiguous row group with the pandas schema (contiguous chunks, so pages split
    exactly where a single-table write splits them)."""
    return pa.Table.from_arrays([table.column(i).combine_chunks() for i in range(table.num_columns)], schema=schema)
