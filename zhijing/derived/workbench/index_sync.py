"""Keeping the search index in step with the lake by writing only the documents that
changed (delete by ``uid``, then add), never the whole corpus again.

Beside the index lie two small Parquet files: ``docs.parquet`` — every document's uid,
the dataset (or master table) it came from and a hash of its content as DuckDB composes
it — and ``record_masters.parquet`` — the masters each record was linked to when the index
was last written. A resolve run changes the links of some records; comparing the current
links with the snapshot names them (``moved``), and only those records' documents are
composed again. Whatever is composed is compared by hash with what the index holds, so a
document whose content did not change is never written: a new dataset costs its own
documents plus the records and masters its links touched.

Every changed uid is deleted before its documents are added (a delete reaches only
documents added before it), so an update interrupted before its state was saved is
repeated without duplicates.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import tantivy

from zhijing.derived.workbench.presence import cursor, prepare
from zhijing.derived.workbench.search import (
    BATCH,
    FORMAT,
    MASTER_SQL,
    MASTERS,
    WRITER_HEAP,
    WRITER_THREADS,
    clear_caches,
    doc_sql,
    index_dir,
    kind_of,
    lines,
    master_sql,
    place_kinds,
    place_sql,
    record_sql,
    schema,
)
from zhijing.lake.store import current_manifest
from zhijing.sources.spec import load_spec

DOCS, LINKS, HASHES = "docs.parquet", "record_masters.parquet", ".hashes"
DELETE_CHUNK = 10_000  # uids per delete query


class IndexSync:
    """One update of the index at ``path``: ``sync`` each scope, then ``save``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, index: tantivy.Index, writer: tantivy.IndexWriter, path: Path):
        self.con, self.index, self.writer, self.path = con, index, writer, path
        self.fresh = not (path / DOCS).exists()
        # what the index holds is read from its file, never loaded whole (10^7 documents at 10^6 persons)
        self.held = "(SELECT NULL::VARCHAR AS uid, NULL::VARCHAR AS dataset, NULL::UBIGINT AS h WHERE false)" if self.fresh \
            else f"read_parquet('{path / DOCS}')"  # fmt: skip
        con.execute("CREATE OR REPLACE TEMP TABLE removed (uid VARCHAR)")
        self.parts = path / HASHES  # the hashes of the documents written, one file per batch
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir()
        self.written = self.deleted = self.batches = 0

    def moved_records(self) -> dict[str, int]:
        """Records whose masters differ from the snapshot (table ``moved``: dataset,
        record_id), counted per dataset; every linked record when there is no snapshot.
        Reads ``pl`` (dataset, record_id, master_id: presence.prepare)."""
        self.con.execute("""CREATE OR REPLACE TEMP TABLE record_masters AS
                            SELECT dataset, record_id, list(DISTINCT master_id ORDER BY master_id) AS masters FROM pl GROUP BY ALL""")
        snapshot = self.path / LINKS
        before = f"read_parquet('{snapshot}')" if snapshot.exists() else \
            "(SELECT NULL::VARCHAR AS dataset, NULL::VARCHAR AS record_id, NULL::VARCHAR[] AS masters WHERE false)"  # fmt: skip
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE moved AS
                             SELECT dataset, record_id FROM record_masters n FULL JOIN {before} o USING (dataset, record_id)
                             WHERE n.masters IS DISTINCT FROM o.masters""")  # fmt: skip
        return dict(self.con.sql("SELECT dataset, count(*) FROM moved GROUP BY 1").fetchall())

    def sync(self, docs: str, dataset: str, whole: bool) -> int:
        """Write the documents of ``docs`` (a ``search.doc_sql`` query) whose content the
        index does not hold; ``whole``: ``docs`` is all of ``dataset``, so its documents
        that are no longer there are deleted too. Returns the documents written."""
        hashed = f"SELECT uid, hash(base, ts, texts, names) AS h, base, ts, texts, names FROM ({docs})"
        if self.fresh:  # an empty index: every document is written, hashed on the way
            return self._add(hashed, dataset)
        con = self.con
        con.execute(f"CREATE OR REPLACE TEMP TABLE composed AS SELECT uid, h FROM ({hashed})")
        held = f"SELECT uid, h FROM {self.held} WHERE {f'dataset = {_lit(dataset)}' if whole else 'uid IN (SELECT uid FROM composed)'}"
        con.execute(f"""CREATE OR REPLACE TEMP TABLE changed AS SELECT DISTINCT uid FROM (
                          (SELECT uid, h FROM composed EXCEPT ALL {held}) UNION ALL ({held} EXCEPT ALL SELECT uid, h FROM composed))""")  # fmt: skip
        uids = [u for (u,) in con.execute("SELECT uid FROM changed ORDER BY uid").fetchall()]
        for i in range(0, len(uids), DELETE_CHUNK):  # new uids too: a repeated update never adds a document twice
            self.writer.delete_documents_by_query(tantivy.Query.term_set_query(self.index.schema, "uid", uids[i : i + DELETE_CHUNK]))
        self.deleted += con.execute(f"SELECT count(DISTINCT uid) FROM ({held}) WHERE uid IN (SELECT uid FROM changed)").fetchall()[0][0]
        con.execute("INSERT INTO removed SELECT uid FROM changed")
        return self._add(f"{hashed} SEMI JOIN changed USING (uid)", dataset)

    def _add(self, sql: str, dataset: str) -> int:
        """Add the documents of ``sql`` (uid, h, base, ts, texts, names) and keep their hashes."""
        written = 0
        for batch in self.con.sql(sql).to_arrow_reader(BATCH):
            for d in lines(*(batch.column(i).to_pylist() for i in range(2, 6))):
                self.writer.add_json(d)
            hashes = pa.table({"uid": batch.column(0), "dataset": pa.array([dataset] * batch.num_rows, pa.string()), "h": batch.column(1)})
            pq.write_table(hashes, self.parts / f"part-{self.batches:06d}.parquet")
            self.batches += 1
            written += batch.num_rows
        self.written += written
        return written

    def save(self, kept: list[str]) -> None:
        """Write the state the next update compares with (after the index's commit); the
        link snapshot of the ``kept`` datasets (not indexed this time) stays as it was."""
        added = f" UNION ALL SELECT * FROM read_parquet('{self.parts}/*.parquet')" if self.batches else ""
        self._write(DOCS, f"SELECT * FROM {self.held} ANTI JOIN removed USING (uid){added}")
        shutil.rmtree(self.parts)
        if not self.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'record_masters'").fetchall()[0][0]:
            return  # the links did not change
        self.con.register("kept_in", pa.table({"dataset": pa.array(kept, pa.string())}))
        snapshot = self.path / LINKS
        before = f"SELECT * FROM read_parquet('{snapshot}') WHERE dataset IN (SELECT dataset FROM kept_in)" if snapshot.exists() else ""
        self._write(LINKS, "SELECT * FROM record_masters WHERE dataset NOT IN (SELECT dataset FROM kept_in)"
                           + (f" UNION ALL {before}" if before else ""))  # fmt: skip
        self.con.unregister("kept_in")

    def _write(self, name: str, sql: str) -> None:
        tmp = self.path / f".{name}.tmp"
        self.con.execute(f"COPY ({sql}) TO '{tmp}' (FORMAT parquet)")
        os.replace(tmp, self.path / name)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _versions(settings) -> dict[str, str | None]:
    out = {}
    for spec in load_spec(settings).datasets:
        m = current_manifest(settings, "clean", spec.name)
        out[f"clean/{spec.name}"] = m.version if m else None
    for ds in sorted({d for names in place_kinds(settings).values() for d in names}):
        m = current_manifest(settings, "clean", ds)
        out[f"clean/{ds}"] = m.version if m else None
    for n in (*MASTERS, "person_links"):
        m = current_manifest(settings, "entities", n)
        out[f"entities/{n}"] = m.version if m else None
    return out


def update(settings, full: bool = False, datasets: list[str] | None = None) -> dict:
    """Bring the index up to the lake's current versions, writing only what changed: a
    dataset of a new version, the records whose links a resolve run changed, the masters
    that differ; returns what was written. ``full`` rebuilds it; ``datasets`` limits the
    clean datasets indexed (the masters always are)."""
    path = index_dir(settings)
    state_file = path / "versions.json"
    old = json.loads(state_file.read_text()) if state_file.exists() and not full else {}
    if old.get("format") != FORMAT or not (path / DOCS).exists():
        old = {}  # another layout, or no record of what the index holds: rebuilt
    if not old and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    con = cursor()
    try:
        return _update(settings, con, path, old, datasets)
    finally:
        con.close()  # its temp tables (the links of every record) go with it


def _update(settings, con: duckdb.DuckDBPyConnection, path: Path, old: dict, datasets: list[str] | None) -> dict:
    index = tantivy.Index(schema(), path=str(path))
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=WRITER_THREADS)
    prepare(con, settings)  # record → master, plate read → registered plate
    new = {**_versions(settings), "format": FORMAT, "read_plate": str(con.sql(
        "SELECT hash(list(raw || '→' || plate ORDER BY raw)) FROM read_plate").fetchall()[0][0])}  # fmt: skip
    sync = IndexSync(con, index, writer, path)
    moved = sync.moved_records() if old.get("entities/person_links") != new["entities/person_links"] else {}
    out: dict[str, int] = {}
    skipped = []
    for spec in load_spec(settings).datasets:
        k = f"clean/{spec.name}"
        if datasets is not None and spec.name not in datasets:
            new[k] = old.get(k)
            skipped.append(spec.name)
            continue
        plates = old.get("read_plate") != new["read_plate"] and any(f.element == "plate" for f in spec.fields)
        whole = old.get(k) != new[k] or plates  # a new version, or its plates resolve otherwise: all of it is compared
        if whole or moved.get(spec.name):
            sql = record_sql(settings, spec, con, None if whole else "moved")
            if sql:
                out[spec.name] = sync.sync(doc_sql(sql, spec.name, kind_of(spec)), spec.name, whole=whole)
    for kind, sources in place_kinds(settings).items():  # the places of a kind, again when one of its datasets changed
        if any(old.get(f"clean/{d}") != new[f"clean/{d}"] for d in sources) and (sql := place_sql(settings, kind)):
            out[f"place:{kind}"] = sync.sync(doc_sql(sql, f"place:{kind}", "place"), f"place:{kind}", whole=True)
    if any(old.get(f"entities/{n}") != new[f"entities/{n}"] for n in MASTERS):
        for n in MASTERS:
            sql = master_sql(settings, n)
            if sql:
                out[n] = sync.sync(doc_sql(sql, n, MASTER_SQL[n][0]), n, whole=True)
    writer.commit()
    writer.wait_merging_threads()
    clear_caches()
    sync.save(kept=skipped)
    (path / "versions.json").write_text(json.dumps(new))
    return {"datasets": [d for d, n in out.items() if n], "documents": sync.written, "deleted": sync.deleted}
