"""Open the data a binding names in an engine — DuckDB (embedded) or Spark (local or a cluster) —
as one view, ``causal_source``, and run our own SQL on it.

In: a `Model` whose ``data`` is a file, a glob of files, a hive-partitioned folder, a DuckDB
table or view, or a Spark table or path. Out: an `Engine`: `rows(sql)` runs a query and returns
its rows, `q(name)` quotes an identifier, `try_double(expr)` casts without failing.

No text of the study is run as SQL: paths become string literals (quotes doubled), a table or
view name is checked by the resolver (``IDENT(.IDENT)*``) and quoted part by part here; every
query is written by this package.

Raises `DataError` E401 (no data), E402 (no path), E418 (outside the study's tree, as
`causal_dsl.tables.confine`), E420 (the engine is not installed: ``pip install
causal-dsl[scale]``), E403 (the engine cannot read the source, with its message).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import tables
from ..errors import DataError, Diagnostic

if TYPE_CHECKING:
    from ..model import Model

VIEW = "causal_source"
# files at least this large go to DuckDB rather than pandas when DuckDB is installed
SIZE_THRESHOLD = int(os.environ.get("CAUSAL_DUCKDB_BYTES", str(2 * 1024**3)))
MEMORY = "1GB"  # DuckDB's memory_limit unless CAUSAL_DUCKDB_MEMORY says otherwise
TEMP = os.path.join(tempfile.gettempdir(), "causal-dsl-duckdb")  # where DuckDB spills


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Engine:
    """A connection with the source registered as `VIEW`; `dialect` is "duckdb" or "spark"."""

    dialect: str
    conn: Any
    label: str
    _n: int | None = field(default=None, repr=False)

    def q(self, name: str) -> str:
        """An identifier quoted for this dialect (embedded quotes doubled)."""
        if self.dialect == "spark":
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def try_double(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS DOUBLE)"

    def text(self, expr: str) -> str:
        return f"TRIM(CAST({expr} AS {'STRING' if self.dialect == 'spark' else 'VARCHAR'}))"

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.dialect == "spark":
            return [tuple(r) for r in self.conn.sql(sql).collect()]
        return self.conn.execute(sql).fetchall()

    def one(self, sql: str) -> tuple[Any, ...]:
        return self.rows(sql)[0]

    def execute(self, sql: str) -> None:
        if self.dialect == "spark":
            self.conn.sql(sql)
        else:
            self.conn.execute(sql)

    def temp_table(self, name: str, select: str) -> None:
        """Materialise `select` (a sweep of the within transformation) as a temporary table."""
        if self.dialect == "spark":
            self.conn.sql(select).cache().createOrReplaceTempView(name)
        else:
            self.conn.execute(f"CREATE OR REPLACE TEMP TABLE {self.q(name)} AS {select}")

    def columns(self) -> list[tuple[str, str]]:
        """(name, type) of the source's columns, reading no rows."""
        if self.dialect == "spark":
            return [(f.name, f.dataType.simpleString()) for f in self.conn.table(VIEW).schema]
        rel = self.conn.execute(f"SELECT * FROM {VIEW} LIMIT 0")
        return [(d[0], str(d[1])) for d in rel.description]

    @property
    def n_rows(self) -> int:
        if self._n is None:
            self._n = int(self.one(f"SELECT COUNT(*) FROM {VIEW}")[0])
        return self._n

    def close(self) -> None:
        if self.dialect == "duckdb":
            self.conn.close()


def _missing_engine(name: str, span: Any) -> DataError:
    return DataError(Diagnostic(
        "E420", f"the data is bound to {name}, which is not installed", span,
        help="pip install 'causal-dsl[scale]' (DuckDB and PySpark)"))


def wants_engine(study: Model) -> bool:
    """Whether `study`'s data is read by an engine: an engine binding, a glob or folder, or a
    file of at least `SIZE_THRESHOLD` bytes when DuckDB is installed."""
    b = study.data
    if b is None:
        return False
    if b.engine is not None or any(c in b.source for c in "*?[") or (
            b.path is not None and b.path.is_dir()):
        return True
    if b.path is None or b.weights is not None:
        return False
    try:
        big = b.path.is_file() and b.path.stat().st_size >= SIZE_THRESHOLD
    except OSError:
        return False
    if not big:
        return False
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def _file_reader(path: Path, source: str) -> str:
    """The DuckDB table function that reads a file, a glob or a hive folder."""
    pattern = str(path)
    if path.is_dir():
        pattern = str(path / "**" / "*.parquet")
    low = source.lower().rstrip("/")
    if low.endswith((".csv", ".tsv", ".csv.gz")):
        sep = "\t" if low.endswith(".tsv") else ","
        return f"read_csv({_literal(pattern)}, header = true, delim = {_literal(sep)})"
    return f"read_parquet({_literal(pattern)}, hive_partitioning = true, union_by_name = true)"


def open_engine(study: Model, *, spark: Any = None, allow_outside: bool | None = None
                ) -> Engine:
    """Connect and register the source. `spark` is a SparkSession to use (default: a local
    one, created on demand)."""
    b = study.data
    if b is None:
        raise DataError(Diagnostic("E401", "the study has no data bound to it", None,
                                   help='add a line `data "file.parquet"`'))
    if b.path is None and b.table is None:
        raise DataError(Diagnostic(
            "E402", f"data '{b.source}' cannot be located: the study has no path", b.span,
            help="load the study from a file (causal_dsl.load)"))
    if b.path is not None:
        root = b.path
        while any(c in root.name for c in "*?[") and root != root.parent:
            root = root.parent  # the fixed part of a glob is what must be inside the tree
        tables.confine(root, study, allow_outside=allow_outside)
    if b.engine == "spark":
        return _open_spark(study, spark)
    try:
        import duckdb
    except ImportError:
        raise _missing_engine("DuckDB", b.span) from None
    conn = duckdb.connect()
    threads = os.environ.get("CAUSAL_DUCKDB_THREADS")
    if threads:
        conn.execute(f"SET threads = {int(threads)}")
    # bounded memory: beyond this DuckDB spills its hash tables (the TWFE unit GROUP BY at
    # 10⁷ units) to a temporary directory instead of growing to 80% of the machine's RAM
    conn.execute(f"SET memory_limit = {_literal(os.environ.get('CAUSAL_DUCKDB_MEMORY', MEMORY))}")
    conn.execute(f"SET temp_directory = {_literal(os.environ.get('CAUSAL_DUCKDB_TEMP', TEMP))}")
    conn.execute("SET enable_progress_bar = false")
    eng = Engine("duckdb", conn, b.source)
    try:
        if b.engine == "duckdb":
            assert b.path is not None and b.table is not None  # the resolver ensures it
            conn.execute(f"ATTACH {_literal(str(b.path))} AS causal_db (READ_ONLY)")
            name = ".".join(eng.q(p) for p in b.table.split("."))
            conn.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM causal_db.{name}")
            eng.label = f"{b.source} (table {b.table})"
        else:
            assert b.path is not None
            conn.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM {_file_reader(b.path, b.source)}")
        eng.columns()
    except duckdb.Error as error:
        conn.close()
        raise DataError(Diagnostic(
            "E403", f"DuckDB cannot read {b.source}: {str(error).splitlines()[0]}", b.span,
            help="check the path, the table name and the file format")) from None
    return eng


def _open_spark(study: Model, spark: Any) -> Engine:
    b = study.data
    assert b is not None
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise _missing_engine("Spark (pyspark)", b.span) from None
    session = spark or SparkSession.builder.master(
        os.environ.get("CAUSAL_SPARK_MASTER", "local[2]")).appName("causal-dsl").getOrCreate()
    try:
        if b.table is not None:
            frame = session.table(".".join("`" + p + "`" for p in b.table.split(".")))
        else:
            assert b.path is not None
            low = b.source.lower()
            frame = (session.read.option("header", True).option("inferSchema", True)
                     .csv(str(b.path)) if low.endswith(".csv")
                     else session.read.parquet(str(b.path)))
        frame.createOrReplaceTempView(VIEW)
    except Exception as error:  # pyspark's AnalysisException and friends
        raise DataError(Diagnostic(
            "E403", f"Spark cannot read {b.table or b.source}: {str(error).splitlines()[0]}",
            b.span, help="check the table name or path")) from None
    return Engine("spark", session, b.table or b.source)


def select_list(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "1"
