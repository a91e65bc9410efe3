"""Resolve the source of a ``data`` line that is not one plain file: a glob of Parquet files, a
hive-partitioned folder, or an engine binding (``duckdb(...)``, ``spark(...)``).

In: the `DataStmt` (syntax), the study's path and the diagnostic sink. Out: `Source` — the
resolved path (or None), the engine name and the table or view name. Diagnostics:

E212 nothing matches the glob / the folder or database does not exist ·
E213 a glob or folder that is not Parquet or CSV ·
E245 unknown engine (with "did you mean") · E246 an engine binding without what it needs, or a
table name that is not a plain (dotted) identifier.

Why table names only: the study file is data, never code. A table or view is named, checked
against ``IDENT(.IDENT)*`` here and quoted as an identifier by the engine, so no text of the
study is ever run as SQL.

>>> is_pattern("events/*.parquet"), is_pattern("events.parquet")
(True, False)
>>> TABLE_NAME.fullmatch("db.visits") is not None, TABLE_NAME.fullmatch("x; drop") is None
(True, True)
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import DiagnosticSink, suggest
from .syntax_tree import DataStmt

ENGINES: dict[str, str] = {
    "duckdb": 'duckdb("file.duckdb", table = "visits"): a table or view of a DuckDB database',
    "spark": 'spark(table = "db.visits") or spark("events/*.parquet"): read by Spark',
}
ENGINE_OPTIONS: dict[str, str] = {"table": "the table or view to read, by name"}
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")


def is_pattern(source: str) -> bool:
    """A glob (``*``, ``?``, ``[...]``): read as one table by DuckDB (or Spark)."""
    return any(c in source for c in "*?[")


@dataclass(frozen=True)
class Source:
    path: Path | None
    engine: str | None
    table: str | None


def is_special(stmt: DataStmt, study_path: str | None) -> bool:
    """Whether this resolver handles the line: an engine, a glob, or a folder."""
    if stmt.engine is not None or is_pattern(stmt.source) or stmt.source.endswith("/"):
        return True
    if study_path is None:
        return False
    try:
        return (Path(study_path).parent / stmt.source).is_dir()
    except OSError:
        return False


def resolve_source(stmt: DataStmt, study_path: str | None, sink: DiagnosticSink,
                   check_files: bool) -> Source:
    """Check and resolve a glob, folder or engine binding (see the module docstring)."""
    engine = table = None
    source = stmt.source
    if stmt.engine is not None:
        kind = stmt.engine.kind.text
        if kind not in ENGINES:
            sink.error("E245", f"unknown data engine '{kind}'", stmt.engine.kind.span,
                       help=suggest(kind, ENGINES) or "engines: " + "; ".join(ENGINES.values()))
            return Source(None, None, None)
        engine = kind
        given = any(o.key.text == "table" for o in stmt.engine.options)
        for option in stmt.engine.options:
            key = option.key.text
            if key not in ENGINE_OPTIONS:
                sink.error("E210", f"'{kind}' has no option '{key}'", option.key.span,
                           help=suggest(key, ENGINE_OPTIONS) or "options: table")
            elif option.value.kind != "string" or not TABLE_NAME.fullmatch(str(option.value.value)):
                sink.error("E246", f"table = {option.value.value!s} is not a table name",
                           option.value.span,
                           help='write the name of a table or view in quotes, e.g. table = '
                           '"visits" or "db.visits" (letters, digits, _ and dots; no SQL)')
            else:
                table = str(option.value.value)
        if kind == "duckdb" and (stmt.engine.path is None or not given):
            sink.error("E246", "a duckdb binding needs the database file and a table",
                       stmt.engine.span, help=ENGINES["duckdb"])
            return Source(None, engine, table)
        if kind == "spark" and (stmt.engine.path is None) == (not given):
            sink.error("E246", "a spark binding takes either a table or a path", stmt.engine.span,
                       help=ENGINES["spark"])
            return Source(None, engine, table)
        if stmt.engine.path is None:
            return Source(None, engine, table)
    if study_path is None:
        return Source(None, engine, table)
    resolved = (Path(study_path).parent / source).resolve()
    if engine != "duckdb":
        suffix = Path(source.rstrip("/")).suffix.lower()
        folder = not is_pattern(source) and (source.endswith("/") or resolved.is_dir())
        if not folder and suffix not in FILE_SUFFIXES:
            sink.error("E213", f"unsupported data format '{suffix or source}'",
                       stmt.source_span,
                       help="a glob names Parquet or CSV files, e.g. \"events/*.parquet\"")
            return Source(None, engine, table)
    if check_files:
        if is_pattern(source):
            if not glob.glob(str(resolved), recursive=True):
                sink.error("E212", f"no data file matches '{source}'", stmt.source_span,
                           notes=(f"looked for {resolved}",),
                           help="the pattern is relative to the .causal file")
        elif not resolved.exists():
            sink.error("E212", f"data '{source}' does not exist", stmt.source_span,
                       notes=(f"looked for {resolved}",),
                       help="the path is relative to the .causal file; fix it")
    return Source(resolved, engine, table)
