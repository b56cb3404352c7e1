"""The scale-out engine: Apache Spark (PySpark; local mode by default).

One SparkSession per process (starting one costs seconds): ``session()`` creates it on
first use with the settings that make Spark agree with DuckDB — UTC session time zone,
non-ANSI casts (invalid -> NULL), Parquet timestamps as INT64 microseconds — and that keep it
quiet: no stage progress bars, JVM log lines at ERROR only (``log4j2.properties``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

from zhijing.config import Settings, get_settings
from zhijing.errors import ZhijingError
from zhijing.governance.engines.base import Engine, parquet_files

_SESSION = None
LOG4J = Path(__file__).with_name("log4j2.properties")


def _similarity_jar() -> str:
    try:
        from splink.backends.spark import similarity_jar_location

        return similarity_jar_location()
    except ImportError:  # pragma: no cover
        return ""


def session(settings: Settings | None = None):
    """The process-wide SparkSession."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - pyspark is a dependency
        raise ZhijingError("the spark engine needs pyspark installed") from exc
    s = (settings or get_settings()).spark
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    _SESSION = (
        SparkSession.builder.master(s.master)
        .appName("zhijing")
        .config("spark.driver.memory", s.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # no [Stage n:===> bars over our own progress bar
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J}")  # errors only, from the start
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.jars", _similarity_jar())  # Splink's string-similarity UDFs (entity resolution)
        .getOrCreate()
    )
    _SESSION.sparkContext.setLogLevel("ERROR")
    _SESSION.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="zhijing-spark-checkpoints-"))
    return _SESSION


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"

    def __init__(self, settings: Settings | None = None) -> None:
        self.spark = session(settings)
        self._cached: list = []

    def register_parquet(self, name: str, files: list[str]) -> None:
        self.spark.read.option("mergeSchema", "true").parquet(*[str(f) for f in files]).createOrReplaceTempView(name)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            from pyspark.sql.types import StringType, StructField, StructType

            schema = StructType([StructField(f.name, StringType()) for f in table.schema])
            self.spark.createDataFrame([], schema).createOrReplaceTempView(name)
            return
        self.spark.createDataFrame(table.to_pandas()).createOrReplaceTempView(name)

    def create_view(self, name: str, sql: str) -> None:
        self.spark.sql(self.translate(sql)).createOrReplaceTempView(name)

    def materialize(self, name: str, sql: str) -> None:
        df = self.spark.sql(self.translate(sql)).cache()
        df.count()
        self._cached.append(df)
        df.createOrReplaceTempView(name)

    def write_parquet(self, name: str, folder: Path, partition_by: list[str] | None = None) -> list[Path]:
        if folder.exists():
            shutil.rmtree(folder)
        writer = self.spark.table(name).write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(str(folder))
        for junk in list(folder.rglob("_SUCCESS")) + list(folder.rglob(".*.crc")):
            junk.unlink()
        return parquet_files(folder)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(self.translate(sql)).collect()]

    def table_exists(self, name: str) -> bool:
        return bool(self.spark.catalog.tableExists(name))

    def close(self) -> None:
        for df in self._cached:
            df.unpersist()
        self._cached.clear()
