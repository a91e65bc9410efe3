"""A plain CSV/TSV file read by Arrow's parser straight into numpy columns, as pandas' own
reader would give it.

In: an open regular file (read by descriptor with ``os.pread``, so the file checked is the
file read), its separator and its header as written. Out: a `pandas.DataFrame` with the same
columns, dtypes and missing cells as ``pandas.read_csv(keep_default_na=False,
na_values=MISSING_SPELLINGS)`` — int64 for whole numbers without a missing cell, float64
(NaN for missing) for other numbers, bool, and pandas' text dtype — or None when Arrow cannot
promise that answer (the caller then reads the file with pandas). Raises nothing of its own.

Why: pandas' parser is single-threaded and at 10⁷ rows × 22 columns peaks at ~3× the data.
Here the column types are fixed up front from the first block (the same inference Arrow makes,
so a later block that does not fit raises and the file is read again with Arrow inferring
from every row); the file is cut at line ends into one segment per core, each parsed by its
own streaming reader in a thread (Arrow releases the GIL); and each batch is copied into
preallocated numpy columns and freed at once, so the peak stays near the size of the data
(benchmarks/speed.py measures it). A file with a quote after its header is not cut (a cut
inside a quoted line break would be wrong) and is parsed by one pipelined reader.
"""

from __future__ import annotations

import gc
import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import pandas as pd

from .datafiles import MISSING_SPELLINGS

BLOCK = 1 << 20  # bytes per parsed block (Arrow's default)
SPLIT_AT = 16 << 20  # a file smaller than this is one segment
SEGMENTS: int | None = None  # segments of a large file (None: one per core)
SLACK = 4096  # rows of room per segment beyond its estimated share
_TEXT_TYPES = ("string", "large_string")
_STRING_DTYPE: list[Any] = []  # what pandas' own reader gives a text column (once per process)


def pandas_string_dtype() -> Any:
    """The dtype pandas' reader gives a text column (``str`` in pandas 3, object before)."""
    if not _STRING_DTYPE:
        _STRING_DTYPE.append(pd.read_csv(io.StringIO("a\nx\n"))["a"].dtype)
    return _STRING_DTYPE[0]


class _Range(io.RawIOBase):
    """Bytes ``[start, stop)`` of a file descriptor, read with ``pread`` (no shared offset,
    so several readers can share one descriptor)."""

    def __init__(self, fd: int, start: int, stop: int) -> None:
        super().__init__()
        self.fd, self.pos, self.stop = fd, start, stop

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = self.stop - self.pos if size is None or size < 0 else min(size, self.stop
                                                                            - self.pos)
        data = os.pread(self.fd, want, self.pos) if want > 0 else b""
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:  # pragma: no cover - Arrow calls read()
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Overflow(Exception):
    """A segment has more rows than its share of the columns holds (the first block made
    the rows look longer than they are): the file is read again as one segment."""


class _Column:
    """One output column shared by the segments: numbers in one numpy array, segment k
    writing its rows from ``base[k]`` on (its share is estimated from the first block; the
    gaps are never touched, so they cost no memory, and are closed at the end); anything else
    as Arrow chunks, per segment, converted once at the end as pandas would see them."""

    def __init__(self, kind: str, capacity: int, segments: int) -> None:
        self.kind = kind  # "i" int64, "f" float64, "a" Arrow chunks
        self.values = None if kind == "a" else np.empty(
            capacity, np.int64 if kind == "i" else np.float64)
        self.missing: np.ndarray | None = None  # whole numbers: rows with a missing cell
        self.chunks: list[list[Any]] = [[] for _ in range(segments)]
        self.lock = threading.Lock()

    def put(self, segment: int, at: int, array: Any) -> None:
        if self.values is None:
            self.chunks[segment].append(array)
            return
        k = len(array)
        if self.kind == "i" and array.null_count:  # floats at the end, as pandas gives them
            with self.lock:
                if self.missing is None:
                    self.missing = np.zeros(len(self.values), bool)
            self.missing[at: at + k] = array.is_null().to_numpy(zero_copy_only=False)
            array = array.fill_null(0)
        self.values[at: at + k] = array.to_numpy(zero_copy_only=False)

    def grow(self, rows: int) -> None:
        """Room for `rows` rows (one segment only: a realloc may move the array)."""
        for values in (self.values, self.missing):
            if values is not None and len(values) < rows:
                values.resize(max(rows, len(values) * 3 // 2), refcheck=False)

    def numbers(self, bases: list[int], counts: list[int]) -> np.ndarray:
        """The segments' rows end to end (moved down over the gaps), as pandas types them."""
        assert self.values is not None
        total = sum(counts)
        for values in (self.values, self.missing):
            if values is None:
                continue
            at = counts[0]
            for base, n in zip(bases[1:], counts[1:], strict=True):
                if base != at:
                    values[at: at + n] = values[base: base + n]
                at += n
            values.resize(total, refcheck=False)
        values, missing = self.values, self.missing
        self.values = self.missing = None
        if missing is not None and missing.any():
            floats = values.astype(np.float64)
            del values
            floats[missing] = np.nan
            return floats
        return values


def _kind(pa: Any, t: Any) -> str:
    return "i" if pa.types.is_int64(t) else "f" if pa.types.is_float64(t) else "a"


def read_csv_arrow(handle: IO[bytes], sep: str, header: list[str]) -> pd.DataFrame | None:
    """The file as pandas' reader would give it, or None (see the module docstring).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text("a,b,c\\n1,x,2\\nNA,y,3\\n")
    >>> with f.open("rb") as handle:
    ...     frame = read_csv_arrow(handle, ",", ["a", "b", "c"])
    >>> frame["a"].tolist(), frame["b"].tolist(), str(frame["c"].dtype)
    ([1.0, nan], ['x', 'y'], 'int64')
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency; pandas still reads
        return None
    fd = handle.fileno()
    size = os.fstat(fd).st_size
    parse = pacsv.ParseOptions(delimiter=sep)
    convert: dict[str, Any] = {
        "null_values": list(MISSING_SPELLINGS), "strings_can_be_null": True,
        "quoted_strings_can_be_null": True, "timestamp_parsers": [],
        "true_values": ["True", "TRUE", "true"], "false_values": ["False", "FALSE", "false"]}
    try:
        first = _first_block(pa, pacsv, fd, size, parse, convert)
        if first is None or first[0].names != header:
            return None
        schema, rows_per_byte, quoted = first
        # the type Arrow inferred from the first block; text for dates, times and the like
        # (pandas keeps them as text) and for a column empty so far (decided at the end)
        types = {f.name: f.type if _kind(pa, f.type) != "a" or pa.types.is_boolean(f.type)
                 or str(f.type) in _TEXT_TYPES else pa.string() for f in schema}
        cuts = [0] if quoted else _cuts(fd, size)
        bounds = list(zip(cuts, [*cuts[1:], size], strict=True))
        collecting = gc.isenabled()
        gc.disable()  # thousands of batches allocate no cycles: the collector would only scan
        try:
            read = _read_segments(pa, pacsv, fd, bounds, header, types, parse, convert,
                                  rows_per_byte)
        except _Overflow:
            read = _read_segments(pa, pacsv, fd, [(0, size)], header, types, parse, convert,
                                  rows_per_byte)
        finally:
            if collecting:
                gc.enable()
        frame = _assemble(pa, header, schema, types, *read)
    except (pa.ArrowException, OSError, ValueError):
        frame = None
    if frame is None:  # a later block did not fit the first one's types: Arrow infers anew
        handle.seek(0)
        try:
            table = pacsv.read_csv(handle, parse_options=parse,
                                   convert_options=pacsv.ConvertOptions(**convert))
        except (pa.ArrowException, OSError, ValueError):
            return None
        return from_table(pa, table, header, convert, handle, parse, pacsv)
    return frame


def _first_block(pa: Any, pacsv: Any, fd: int, size: int, parse: Any,
                 convert: dict[str, Any]) -> tuple[Any, float, bool] | None:
    """The schema Arrow infers from the first block, rows per byte there, and whether a
    quote follows the header line."""
    head = os.pread(fd, min(size, BLOCK), 0)
    options = pacsv.ReadOptions(block_size=BLOCK, use_threads=False)
    reader = pacsv.open_csv(_Range(fd, 0, size), read_options=options, parse_options=parse,
                            convert_options=pacsv.ConvertOptions(**convert))
    try:
        batch = reader.read_next_batch()
    except StopIteration:  # a header and no rows: pandas' reader decides the dtypes
        return None
    finally:
        reader.close()
    line = head.find(b"\n")
    quoted = line < 0 or b'"' in head[line:]
    return reader.schema, max(batch.num_rows, 1) / max(len(head), 1), quoted


def _cuts(fd: int, size: int) -> list[int]:
    """Where the segments start: one per core, each just after a line end."""
    import pyarrow as pa

    parts = max(1, min(SEGMENTS or pa.cpu_count(), size // SPLIT_AT))
    cuts = [0]
    for k in range(1, parts):
        at = k * size // parts
        window = os.pread(fd, 1 << 16, at)
        end = window.find(b"\n")
        if end < 0 or at + end + 1 >= size:
            break
        cuts.append(at + end + 1)
    return sorted(set(cuts))


def _read_segments(pa: Any, pacsv: Any, fd: int, bounds: list[tuple[int, int]],
                   header: list[str], types: dict[str, Any], parse: Any,
                   convert: dict[str, Any], rows_per_byte: float
                   ) -> tuple[list[_Column], list[int], list[int]]:
    """Every segment parsed into shared columns; the columns, where each segment's rows
    start and how many it has."""
    alone = len(bounds) == 1
    # a row takes at least one byte per column (separators and its line end): a bound that
    # keeps a file of many columns and few rows from reserving room for rows it cannot have
    shares = [min(int((stop - start) * rows_per_byte * 1.25) + SLACK,
                  (stop - start) // len(header) + 1) for start, stop in bounds]
    bases = [sum(shares[:k]) for k in range(len(bounds))]
    columns = [_Column(_kind(pa, types[name]), sum(shares), len(bounds)) for name in header]

    def segment(k: int) -> int:
        start, stop = bounds[k]
        # the first segment reads the header; the others are told the names. Each reader
        # pipelines its own blocks (read, parse, convert) on Arrow's pool too.
        options = pacsv.ReadOptions(block_size=BLOCK, use_threads=True,
                                    column_names=None if start == 0 else header)
        reader = pacsv.open_csv(_Range(fd, start, stop), read_options=options,
                                parse_options=parse,
                                convert_options=pacsv.ConvertOptions(column_types=types,
                                                                     **convert))
        n = 0
        for batch in reader:
            rows = batch.num_rows
            if n + rows > shares[k]:
                if not alone:
                    raise _Overflow
                for column in columns:
                    column.grow(n + rows)
            for column, array in zip(columns, batch.columns, strict=True):
                column.put(k, bases[k] + n, array)
            n += rows
        return n

    if alone:
        return columns, bases, [segment(0)]
    with ThreadPoolExecutor(len(bounds)) as pool:
        futures = [pool.submit(segment, k) for k in range(len(bounds))]
        counts = [f.result() for f in futures]
    return columns, bases, counts


def _assemble(pa: Any, header: list[str], schema: Any, types: dict[str, Any],
              columns: list[_Column], bases: list[int], counts: list[int]
              ) -> pd.DataFrame | None:
    """The frame, one column at a time (each column's Arrow chunks freed once converted)."""
    mapper = _mapper(pa)
    out: dict[str, Any] = {}
    for name, column in zip(header, columns, strict=True):
        if column.values is not None:
            values = column.numbers(bases, counts)
            if values.dtype.kind == "f" and _beyond_int64(values):
                return None  # maybe integers above 2⁶³: pandas' reader decides (uint64)
            out[name] = values
            continue
        array = pa.chunked_array([c for part in column.chunks for c in part],
                                 type=types[name])
        column.chunks = []
        if pa.types.is_null(schema.field(name).type):  # empty in the first block
            if array.null_count != len(array):
                return None  # values further down: Arrow must infer the column's type
            out[name] = np.full(len(array), np.nan)
        else:
            out[name] = array.to_pandas(types_mapper=mapper)
    return pd.DataFrame(out, copy=False)


def _beyond_int64(values: np.ndarray) -> bool:
    if not len(values):
        return False
    top, bottom = values.max(), values.min()  # NaN when a cell is missing: look again
    if np.isnan(top) or np.isnan(bottom):
        top, bottom = np.fmax.reduce(values), np.fmin.reduce(values)
    if not (abs(top) >= 2.0**63 or abs(bottom) >= 2.0**63):
        return False
    finite = values[np.isfinite(values)]
    return bool(len(finite)) and bool(np.abs(finite).max() >= 2.0**63)


def _mapper(pa: Any) -> Any:
    string_dtype = pandas_string_dtype()
    text = (pa.string(), pa.large_string())

    def mapper(t: Any) -> Any:
        return string_dtype if t in text and string_dtype is not np.dtype(object) else None

    return mapper


def from_table(pa: Any, table: Any, header: list[str], convert: dict[str, Any],
               handle: IO[bytes], parse: Any, pacsv: Any) -> pd.DataFrame | None:
    """An Arrow table (types inferred from every row) as pandas' reader would give it: dates,
    times and decimals read again as text, one column converted at a time."""
    if table.column_names != header:
        return None
    as_text = [f.name for f in table.schema if _kind(pa, f.type) == "a" and not (
        pa.types.is_boolean(f.type) or pa.types.is_null(f.type)
        or str(f.type) in _TEXT_TYPES or pa.types.is_integer(f.type)
        or pa.types.is_floating(f.type))]
    if as_text:
        handle.seek(0)
        options = pacsv.ConvertOptions(**convert,
                                       column_types={n: pa.string() for n in as_text})
        table = pacsv.read_csv(handle, parse_options=parse, convert_options=options)
    if any(pa.types.is_unsigned_integer(f.type) for f in table.schema):
        return None  # integers above 2⁶³: pandas' own reader decides what they become
    mapper = _mapper(pa)
    pool = pa.default_memory_pool()
    columns: dict[str, Any] = {}
    for name in header:  # one column at a time, its Arrow buffers freed as soon as converted
        col = table.column(0)
        if pa.types.is_null(col.type):  # an empty column: pandas reads it as float NaN
            columns[name] = np.full(len(col), np.nan)
        elif pa.types.is_floating(col.type):
            values = col.to_pandas(types_mapper=mapper).to_numpy()
            if _beyond_int64(values):
                return None
            columns[name] = values
        else:
            columns[name] = col.to_pandas(types_mapper=mapper)
        table = table.remove_column(0)
        del col
        pool.release_unused()
    return pd.DataFrame(columns, copy=False)


__all__ = ["BLOCK", "SPLIT_AT", "pandas_string_dtype", "read_csv_arrow"]
