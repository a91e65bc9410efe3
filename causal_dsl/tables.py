"""Read a bound data file into a frame, refusing what cannot be trusted before anything is coded.

In: a path to a CSV/TSV (optionally compressed) or Parquet file, and the study (`Model`) whose
declarations it serves; reading options from `reading(...)`, the keywords of `read_study_table`,
or the environment. Out: a `pandas.DataFrame` with the file's columns as written, missing cells
as NaN/None by the documented spellings (`MISSING_SPELLINGS`) — except that a value a variable
declares as one of its levels (``categorical("NA", "None")``) is never read as missing in that
variable's column.

Raises `DataError`:

E402 file not found · E403 unreadable or unknown format · E415 infinite values in a declared
column (``inf``, ``-Infinity``, ``1e309``; or, with ``drop_nonfinite``, counted and made
missing) · E416 duplicate column names · E417 not a regular file (a FIFO, a device, a folder:
reading one would block or never end) · E418 the file lies outside the study's folder tree and
its repository (``--allow-data-outside``, ``allow_outside=True`` or
``CAUSAL_ALLOW_DATA_OUTSIDE=1`` to read it anyway). Messages name files and header names only,
never cell contents of a file the study was not allowed to read.

A plain CSV/TSV file is parsed by pandas' C parser in line-cut segments (`causal_dsl.csvsegments`:
one thread per core, straight into numpy columns, peak near the data's size) whenever that gives
the whole-file answer; otherwise, and for compressed files, by pandas' reader with the
per-column missing spellings.

Line numbers in the data stage's messages are the physical lines of the CSV file (a quoted cell
spanning lines counts as the lines it spans, as an editor shows them): see `row_positions`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .csvsegments import read_csv_fast

# Options, confinement and opening a regular file need no pandas: they live in
# `causal_dsl.datafiles` (which `causal check` and `causal lint` use) and are re-exported here.
from .datafiles import (
    ALLOW_OUTSIDE_ENV,
    MISSING_SPELLINGS,
    ReadOptions,
    _compression,
    allowed_roots,
    confine,
    current_options,
    open_regular,
    reading,
    table_kind,
)
from .errors import DataError, Diagnostic, Span
from .model import VarType

if TYPE_CHECKING:
    from .model import Model

SHOWN_ROWS = 3
_NUMERIC_TYPES = (VarType.BINARY, VarType.CONTINUOUS, VarType.COUNT)


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _unknown_format(p: Path, kind: str, span: Span | None) -> DataError:
    return DataError(Diagnostic(
        "E403", f"data file '{p}' has an unknown format ('{kind or 'no extension'}')", span,
        help="use a .csv, .tsv or .parquet file"))


def _unreadable(p: Path, exc: BaseException, span: Span | None) -> DataError:
    return DataError(Diagnostic(
        "E403", f"cannot read data file '{p}': {str(exc).splitlines()[0] if str(exc) else exc}",
        span, help="the file must be a CSV (with a header line) or a Parquet file"))


_READ_ERRORS = (ValueError, OSError, ImportError, UnicodeDecodeError, pd.errors.ParserError,
                EOFError)


def read_header(path: str | Path, *, study: Model | None = None, span: Span | None = None
                ) -> list[str]:
    """The column names of a CSV/TSV/Parquet file, reading no rows (for lint).

    Raises like `read_table` (E402/E403/E417, and E418 when `study` is given and the file is
    outside its folder tree).
    """
    p = Path(path)
    if study is not None:
        confine(p, study)
    kind = table_kind(p)
    with open_regular(p, span) as handle:  # a pipe or a device is refused whatever its name
        if kind not in {".parquet", ".pq", ".csv", ".tsv", ".txt"}:
            raise _unknown_format(p, kind, span)
        try:
            if kind in {".parquet", ".pq"}:
                import pyarrow.parquet as pq

                return [str(c) for c in pq.read_schema(handle).names]
            return _raw_header(handle, p, kind)
        except _READ_ERRORS as exc:
            raise _unreadable(p, exc, span) from exc


def _raw_header(handle: IO[bytes], p: Path, kind: str) -> list[str]:
    """The first record as written: no renaming of duplicates, no missing-value spellings."""
    head = pd.read_csv(handle, sep="\t" if kind == ".tsv" else ",", header=None, nrows=1,
                       dtype=str, keep_default_na=False, compression=_compression(p))
    return [str(c) for c in head.iloc[0].tolist()] if len(head) else []


def read_table(path: str | Path, span: Span | None = None, *, study: Model | None = None,
               drop_nonfinite: bool | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/Parquet file by its extension (compressed CSV works too), with the checks
    of this module; `study` supplies the declarations (levels kept, columns checked for
    infinite values) and the folder the file must lie in.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text("g,y\\nNA,1\\n,2\\nb,NA\\n")
    >>> read_table(f).isna().sum().tolist()
    [2, 1]
    """
    p = Path(path)
    if study is not None:
        confine(p, study)
    kind = table_kind(p)
    with open_regular(p, span) as handle:  # a pipe or a device is refused whatever its name
        if kind not in {".parquet", ".pq", ".csv", ".tsv", ".txt"}:
            raise _unknown_format(p, kind, span)
        try:
            if kind in {".parquet", ".pq"}:
                frame = pd.read_parquet(handle)
                header = [str(c) for c in frame.columns]
                frame.attrs["causal_kind"] = "parquet"
            else:
                header = _raw_header(handle, p, kind)
                _refuse_duplicates(header, p, span, study)
                handle.seek(0)
                sep = "\t" if kind == ".tsv" else ","
                fast = _read_csv_fast(handle, p, sep, header, study)
                if fast is None:
                    handle.seek(0)
                    frame = pd.read_csv(
                        handle, sep=sep, keep_default_na=False,
                        na_values=_na_values(header, study), compression=_compression(p))
                else:
                    frame = fast
                frame.attrs["causal_lines"] = LineMap(p, sep)
        except DataError:
            raise
        except _READ_ERRORS as exc:
            raise _unreadable(p, exc, span) from exc
    _refuse_duplicates(header, p, span, study)
    if study is not None:
        drop = current_options().drop_nonfinite if drop_nonfinite is None else drop_nonfinite
        frame = _nonfinite(frame, study, str(p), drop)
    return frame


def _read_csv_fast(handle: IO[bytes], p: Path, sep: str, header: list[str],
                   study: Model | None) -> pd.DataFrame | None:
    """The CSV read in segments by pandas' C parser (`causal_dsl.csvsegments`, one thread per
    core, into numpy columns), exactly as pandas' reader of the whole file would give it, or
    None when pandas must read the file: a compressed file, a blank header name, or anything
    the segments cannot promise (ragged rows, bad UTF-8, mixed types: pandas then accepts it or
    gives the established message, which never quotes cells)."""
    if _compression(p) is not None or any(not name.strip() for name in header):
        return None
    return read_csv_fast(handle, sep, header, _na_values(header, study))


def _refuse_duplicates(header: list[str], p: Path, span: Span | None,
                       study: Model | None) -> None:
    seen: dict[str, int] = {}
    for name in header:
        if name.strip():
            seen[name] = seen.get(name, 0) + 1
    dups = [name for name, count in seen.items() if count > 1]
    if dups:
        raise DataError(Diagnostic(
            "E416", f"data file '{p}' has duplicate column name(s): "
            + ", ".join(f"'{name}' ({seen[name]} times)" for name in dups[:10])
            + (" ..." if len(dups) > 10 else ""), span,
            help="rename the columns so that each name is used once (a reader would otherwise "
            "rename one silently, e.g. to 'x.1')"), _sources(study) if study else None)


def duplicate_columns(frame: pd.DataFrame, source: str) -> list[Diagnostic]:
    """E416 for a DataFrame given directly whose column labels repeat."""
    labels = [str(c) for c in frame.columns]
    dups = sorted({c for c in labels if labels.count(c) > 1}) if frame.columns.has_duplicates \
        else []
    if not dups:
        return []
    return [Diagnostic("E416", f"{source} has duplicate column name(s): "
                       + ", ".join(f"'{c}'" for c in dups[:10]),
                       help="rename the columns so that each name is used once")]


def _na_values(header: list[str], study: Model | None) -> dict[Any, list[str]]:
    """Per column, the missing spellings minus the levels a variable declares for it."""
    declared: dict[str, set[str]] = {}
    if study is not None:
        for var in study.observed:
            if var.levels:
                declared.setdefault(var.data_column, set()).update(var.levels)
    out: dict[Any, list[str]] = {}
    for i, name in enumerate(header):
        key: Any = name if name.strip() else f"Unnamed: {i}"
        keep = declared.get(name, set())
        out[key] = [s for s in MISSING_SPELLINGS if s not in keep]
    return out


# --------------------------------------------------------------------------------------------
# infinite values
# --------------------------------------------------------------------------------------------
def _used_columns(study: Model) -> dict[str, bool]:
    """Declared columns -> whether they are read as numbers whatever their dtype."""
    used: dict[str, bool] = {}
    for var in study.observed:
        numeric = var.type in _NUMERIC_TYPES and not var.levels
        used[var.data_column] = used.get(var.data_column, False) or numeric
    if study.data is not None:
        for col in (study.data.unit, study.data.time):
            if col is not None:
                used.setdefault(col, False)
    return used


def infinite_mask(values: pd.Series, as_number: bool) -> np.ndarray:
    """Cells that are ±infinity: numbers, or (for a column read as numbers) text that parses
    as one ("inf", "-Infinity", "1e309")."""
    if pd.api.types.is_bool_dtype(values):
        return np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        return np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan))
    if not as_number:
        return np.zeros(len(values), dtype=bool)
    parsed = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    return np.isinf(parsed.to_numpy(dtype=np.float64, na_value=np.nan))


def nonfinite_problem(column: str, mask: np.ndarray, raw: pd.Series, source: str,
                      span: Span | None = None) -> Diagnostic:
    """E415: the column, how many infinite cells, and the lines of the first ones."""
    return Diagnostic(
        "E415",
        f"column '{column}' of {source} has {int(mask.sum())} infinite value(s) (inf, "
        f"-inf, or a number too large for a float) at {row_positions(raw, mask)}",
        span,
        help="fix or remove those values; or, to treat them as missing (counted and dropped "
        "like missing values), run with --drop-nonfinite (Python: drop_nonfinite=True)",
    )


def _nonfinite(frame: pd.DataFrame, study: Model, source: str, drop: bool) -> pd.DataFrame:
    problems: list[Diagnostic] = []
    dropped: dict[str, int] = {}
    for col, as_number in _used_columns(study).items():
        if col not in frame.columns:
            continue
        mask = infinite_mask(frame[col], as_number)
        if not mask.any():
            continue
        if drop:
            if frame[col].dtype == object or not pd.api.types.is_numeric_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(~mask, None)
            else:
                frame[col] = frame[col].astype(np.float64).where(~mask, np.nan)
            dropped[col] = int(mask.sum())
        else:
            span = next((v.span for v in study.observed if v.data_column == col),
                        study.data.span if study.data is not None else None)
            problems.append(nonfinite_problem(col, mask, frame[col], source, span))
    if problems:
        raise DataError(problems, _sources(study))
    if dropped:
        frame.attrs["causal_nonfinite"] = dropped
    return frame


# --------------------------------------------------------------------------------------------
# positions
# --------------------------------------------------------------------------------------------
@dataclass
class LineMap:
    """The physical line each data row of a CSV file starts on, computed on first use (only
    when a message needs it), by reading the file again with the `csv` module."""

    path: Path
    sep: str
    _starts: list[int] = field(default_factory=list, repr=False)
    _done: bool = field(default=False, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> LineMap:
        return self  # pandas copies `attrs` on every operation; the map is shared, not copied

    def line(self, row: int) -> int:
        """The 1-based line that data row `row` (0-based) starts on."""
        while len(self._starts) <= row and not self._done:
            self._scan(row + 1)
        return self._starts[row] if row < len(self._starts) else row + 2

    def _scan(self, upto: int) -> None:
        self._starts.clear()
        try:
            with open_regular(self.path) as raw:
                comp = _compression(self.path)
                stream: Any = raw
                if comp == "gzip":
                    import gzip
                    stream = gzip.GzipFile(fileobj=raw)
                elif comp is not None:
                    self._done = True
                    return
                text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
                reader = csv.reader(text, delimiter=self.sep)
                header = True
                last = 0
                for record in reader:
                    start, last = last + 1, reader.line_num
                    if not record:  # a blank line: pandas skips it
                        continue
                    if header:
                        header = False
                        continue
                    self._starts.append(start)
                    if len(self._starts) >= max(upto, 1) * 2 + 1000:
                        return
        except (OSError, csv.Error, DataError):
            pass
        self._done = True


def row_positions(raw: pd.Series, mask: np.ndarray, limit: int = SHOWN_ROWS) -> str:
    """Where the first cells of `mask` are: "line(s) 3, 9 ..." — the physical lines of the CSV
    file the column was read from (the header is line 1; a quoted cell spanning lines is counted
    as the lines it spans); for a Parquet file "row(s) 1, 7" (data rows from 1); for a DataFrame
    given directly, the line it would have as a CSV with a header line."""
    positions = [int(i) for i in np.flatnonzero(mask)[:limit]]
    more = " ..." if int(np.count_nonzero(mask)) > limit else ""
    lines = raw.attrs.get("causal_lines")
    if isinstance(lines, LineMap):
        return "line(s) " + ", ".join(str(lines.line(i)) for i in positions) + more
    if raw.attrs.get("causal_kind") == "parquet":
        return "row(s) " + ", ".join(str(i + 1) for i in positions) + more
    return "line(s) " + ", ".join(str(i + 2) for i in positions) + more


def nonfinite_dropped(frame: pd.DataFrame) -> Mapping[str, int]:
    """Per column, how many infinite values `drop_nonfinite` made missing."""
    found = frame.attrs.get("causal_nonfinite", {})
    return dict(found) if isinstance(found, dict) else {}


def _sources(study: Model) -> dict[str | None, str]:
    return {study.path: study.source} if study.source is not None else {}


__all__ = ["ALLOW_OUTSIDE_ENV", "MISSING_SPELLINGS", "ReadOptions", "allowed_roots", "confine",
           "current_options", "duplicate_columns", "infinite_mask", "nonfinite_dropped",
           "nonfinite_problem", "open_regular", "read_header", "read_table", "reading",
           "row_positions", "table_kind"]
