"""A plain CSV/TSV file read by pandas' own C parser in line-cut segments, on every core, straight
into preallocated numpy columns: pandas' answer, at about the data's size.

In: an open regular file (mapped and read through its descriptor, so the file checked is the
file read), its separator, its header as written and the missing spellings per column (those of
``pandas.read_csv(na_values=...)``). Out: a `pandas.DataFrame` identical (columns, dtypes,
values, NaN, RangeIndex) to ``pandas.read_csv(keep_default_na=False, na_values=...)`` of the whole
file, or None when this reader cannot promise that answer (the caller then reads the file with
pandas, which gives the answer, or the error with its line number). Raises nothing of its own.

Why: pandas' reader keeps every chunk it parsed until it concatenates them (the serial reader
at 10⁷ rows × 22 columns peaks at ~3× the data; pandas 3.1's parallel reader also maps the
whole file: ~3×). Arrow's parser is 4-5× slower than pandas' on this machine. Here the file is
cut at line ends into segments of a few MB; each is parsed in a thread by one reused pandas C
parser per thread (``TextReader.load_buffer``, which pandas' parallel reader uses; tokenizing
and number conversion release the GIL), or by ``pandas.read_csv`` of the segment where this
pandas has no ``load_buffer``; copied into columns allocated once (their untouched room costs
no memory) and freed, and the segment's mapped pages are dropped once copied.

Pandas' answer, exactly (pandas' own rule: its chunks' dtypes are unified by ``concat_compat``):

- a column whose segments are all int64 stays int64; int64 and float64 segments make float64
  (exact: refused when an integer reaches 2⁵³, where a cast and a parse could round apart);
  bool stays bool; pandas' text dtype stays text. Any other dtype or mix (object, uint64,
  bool with a missing cell, text and numbers) is refused: pandas' answer depends on where its
  own chunks fall. So is a text column with a segment of numbers only (its cells as written
  are gone once parsed).
- text: pandas infers each of *its* chunks (rows ``[k·B, (k+1)·B)``, ``B`` = `pandas_chunk_rows`);
  a chunk of numbers-only in a text column would make pandas mix ints and strings. So every
  such chunk must hold a value that no number or bool parser accepts (a witness), or the file
  is refused.
- a segment holding a quote is not cut (a line end may be inside a quoted cell): the file is
  then read from the start by pandas' chunked reader (one thread, same columns, same peak).
- a segment pandas refuses (ragged row, bad UTF-8) or whose rows come with an index of their
  own (a first row longer than the header) is refused: pandas reads the whole file again and
  reports the line.
- a file smaller than one segment (`WHOLE_BELOW`) is left to pandas from the start: the same
  parser, set up once, and no second thread to gain.
"""

from __future__ import annotations

import contextlib
import functools
import io
import mmap
import os
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import numpy as np
import pandas as pd

from . import collector

SEGMENT = 8 << 20  # bytes per segment (a few MB: ~1.5 ms of setup per pandas call)
# Smaller files are left to pandas' whole-file read: it is the same parser, with one set-up
# instead of four (~3 ms of a 100 kB file, 3x pandas' own time) and no thread to gain.
WHOLE_BELOW = SEGMENT
_MADV_POPULATE_WRITE = 23  # <linux/mman.h>; Python 3.11's mmap module has no name for it
THREADS: int | None = None  # parsing threads (None: the cores this process may use)
AHEAD = 2  # segments in flight per thread (bounds the memory beyond the columns)
QUOTE = b'"'
_BOOLS = ("True", "TRUE", "true", "False", "FALSE", "false")  # pandas' C parser's spellings
# what pandas' number parsers might accept (a superset: sign, digits, point, exponent, spaces;
# inf and infinity): a text cell that matches neither this nor a bool spelling is a witness
_MAYBE_NUMBER = r"\s*[+-]?[0-9.]*([eE][+-]?[0-9]*)?\s*|\s*[+-]?(?i:inf|infinity|nan)\s*"
_EXACT = 2.0**53  # integers beyond this may round differently when cast rather than parsed


class _Refused(Exception):
    """This reader cannot promise pandas' answer: the caller reads the file with pandas."""


class _Quoted(Exception):
    """A segment holds a quote: the file must not be cut at its line ends."""


def pandas_chunk_rows(width: int) -> int:
    """The rows of one chunk of pandas' low-memory C reader (``TextReader.buffer_lines``).

    >>> pandas_chunk_rows(22)
    32768
    """
    heuristic = 2**20 // max(width, 1)
    rows = 1
    while rows * 2 < heuristic:
        rows *= 2
    return rows


@functools.cache
def pandas_string_dtype() -> object:
    """The dtype pandas' reader gives a text column (``str`` in pandas 3, object before)."""
    return pd.read_csv(io.StringIO("a\nx\n"))["a"].dtype


class _Columns:
    """The output, filled segment after segment in file order: numbers in numpy arrays with room
    to spare (`_room`; copied into a larger one when the estimate was short), text as the
    segments' arrays, concatenated once at the end."""

    def __init__(self, header: Sequence[str], likely: int) -> None:
        self.header = list(header)
        self.likely = likely  # rows the file likely has: made resident up front (`_room`)
        self.capacity = int(likely * 1.05) + 1024  # a little over: room costs nothing
        self.rows = 0
        self.kinds: dict[str, str] = {}  # "i" int64, "f" float64, "b" bool, "t" text
        self.numbers: dict[str, np.ndarray] = {}
        self.text: dict[str, list[pd.Series]] = {}
        self.witnessed: dict[str, set[int]] = {}  # text column -> pandas chunks with a witness
        self.chunk = pandas_chunk_rows(len(self.header))
        self.text_dtype = pandas_string_dtype()

    def add(self, parts: Mapping[str, object], k: int) -> None:
        """The next `k` rows, one array per column (as pandas' parser gave them)."""
        if not k:
            return
        if self.rows + k > self.capacity:
            self.capacity = max(self.rows + k, self.capacity * 5 // 4)
            self.likely = self.rows + k
            for name, values in self.numbers.items():
                grown = _room(self.capacity, values.dtype, self.likely)
                grown[: self.rows] = values[: self.rows]
                self.numbers[name] = grown
        for name in self.header:
            self._put(name, parts[name])
        self.rows += k

    def _put(self, name: str, array: object) -> None:
        if isinstance(array, np.ndarray) and array.dtype != object:
            series: Any = array  # numbers as parsed (no Series to build)
        else:  # text, or objects the frame constructor infers (as pandas' own reader does)
            series = array if isinstance(array, pd.Series) else pd.Series(array, copy=False)
        dtype, at, k = series.dtype, self.rows, len(series)
        kind = ("i" if dtype == np.int64 else "f" if dtype == np.float64
                else "b" if dtype == np.bool_ else "t" if dtype == self.text_dtype else "")
        have = self.kinds.get(name)
        if not kind or (have is not None and have != kind and {have, kind} != {"i", "f"}):
            raise _Refused  # a dtype or a mix whose answer depends on pandas' own chunks
        if kind == "t":
            self.kinds[name] = "t"
            self.text.setdefault(name, []).append(series)
            self._witness(name, series, at)
            return
        values = np.asarray(series)
        if have is None:  # the first rows: every column is set by them
            self.kinds[name] = kind
            self.numbers[name] = _room(self.capacity, values.dtype, self.likely)
        elif have == "i" and kind == "f":  # a missing cell or a decimal: pandas gives floats
            ints = self.numbers.pop(name)
            _exact(ints[:at])
            floats = _room(self.capacity, np.dtype(np.float64), self.likely)
            floats[:at] = ints[:at]
            del ints
            self.numbers[name] = floats
            self.kinds[name] = "f"
        elif have == "f" and kind == "i":
            _exact(values)
        self.numbers[name][at: at + k] = values

    def _witness(self, name: str, series: pd.Series, at: int) -> None:
        text = ~series.str.fullmatch(_MAYBE_NUMBER, na=True) & ~series.isin(_BOOLS)
        rows = np.flatnonzero(text.to_numpy(dtype=bool, na_value=False))
        self.witnessed.setdefault(name, set()).update(
            np.unique((rows + at) // self.chunk).tolist())

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            raise _Refused  # blank lines only: pandas decides the dtypes of no rows
        chunks = -(-self.rows // self.chunk)
        out: dict[str, object] = {}
        for name in self.header:
            if self.kinds[name] == "t":
                if len(self.witnessed[name]) != chunks:
                    raise _Refused  # a pandas chunk of numbers only: pandas mixes types
                parts = self.text.pop(name)
                out[name] = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            else:
                out[name] = self.numbers.pop(name)[: self.rows]  # the room beyond: never touched
        return pd.DataFrame(out, copy=False)


def _room(rows: int, dtype: np.dtype, resident: int) -> np.ndarray:
    """A column of `rows` in its own anonymous mapping, of which the first `resident` rows are
    made resident at once: the kernel fills those pages in one call (``MADV_POPULATE_WRITE``,
    Linux 5.14) instead of one page fault per 4 kB as the rows are copied in — at 10⁷ rows × 22
    columns, 430,000 faults and 2.4–5.3 s of system time, against 1.2–2.1 s. The rest of the
    room becomes resident only if written (an estimate too large costs nothing). It asks for
    no transparent huge pages, whose compaction cost ~1.7 s of system time on this machine
    (numpy asks for them for any array over 4 MB)."""
    room = mmap.mmap(-1, max(rows, 1) * dtype.itemsize)
    size = min(resident, rows) * dtype.itemsize // mmap.PAGESIZE * mmap.PAGESIZE
    if size > 0:
        # an older kernel or another system: the pages fault in as they are written
        with contextlib.suppress(OSError, ValueError, AttributeError):
            room.madvise(_MADV_POPULATE_WRITE, 0, size)
    return np.frombuffer(room, dtype)[:rows]


def _exact(values: np.ndarray) -> None:
    if len(values) and max(abs(int(values.max())), abs(int(values.min()))) >= _EXACT:
        raise _Refused


def read_csv_fast(handle: IO[bytes], sep: str, header: Sequence[str],
                  na_values: Mapping[str, Sequence[str]]) -> pd.DataFrame | None:
    """The file as ``pandas.read_csv(keep_default_na=False, na_values=na_values)`` gives it, or
    None (see the module docstring).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text("a,b,c\\n1,x,2\\nNA,y,3\\n" + "4,z,5\\n" * (WHOLE_BELOW // 6))
    >>> na = {name: ["", "NA"] for name in "abc"}
    >>> with f.open("rb") as handle:
    ...     frame = read_csv_fast(handle, ",", ["a", "b", "c"], na)
    >>> frame["a"].tolist()[:3], frame["b"].tolist()[:3], str(frame["c"].dtype), len(frame)
    ([1.0, nan, 4.0], ['x', 'y', 'z'], 'int64', 1398103)
    """
    fd = handle.fileno()
    size = os.fstat(fd).st_size
    if size < WHOLE_BELOW:
        return None
    spellings = [list(na_values.get(name, ())) for name in header]
    # one list for every column when they agree: pandas sets it up in half the time
    na: object = spellings[0] if all(s == spellings[0] for s in spellings) else {
        name: s for name, s in zip(header, spellings, strict=True)}
    # hundreds of frames allocate no cycles: the collector would only scan (`collector`)
    with collector.paused():
        try:
            start = _data_start(fd, size, sep, list(header))
            if start is None:
                return None
            likely = _estimate(fd, size, start)
            try:
                return _segments(fd, size, start, sep, header, na, likely)
            except _Quoted:
                handle.seek(0)
                return _chunked(handle, sep, header, na, likely)
        except (_Refused, ValueError, UnicodeError, OSError, pd.errors.ParserError):
            return None


def _data_start(fd: int, size: int, sep: str, header: list[str]) -> int | None:
    """Where the first data line starts, if pandas reads the header line as `header`."""
    window = 1 << 16
    while True:
        head = os.pread(fd, window, 0)
        end = head.find(b"\n")
        if end >= 0 or len(head) >= size:
            break
        window *= 4
    if (end < 0 or head[:end].count(QUOTE) % 2 or b"\r" in head[:end].rstrip(b"\r")
            or end + 1 >= size):
        return None  # one line, a quoted or bare-CR line break in the header, or no data rows
    names = pd.read_csv(io.BytesIO(head[: end + 1]), sep=sep, nrows=0).columns
    return end + 1 if list(names) == header else None


def _estimate(fd: int, size: int, start: int) -> int:
    """Rows the file likely has, from the line ends of its first segment."""
    head = os.pread(fd, SEGMENT, start)
    return int(head.count(b"\n") * (size - start) / max(len(head), 1))


def _cut(mm: mmap.mmap, size: int, at: int) -> int:
    """Where the segment from `at` ends: about SEGMENT bytes on, just after a line end."""
    if at + SEGMENT >= size:
        return size
    end = mm.rfind(b"\n", at, at + SEGMENT)
    if end < 0:  # a line longer than a segment
        end = mm.find(b"\n", at + SEGMENT)
    return size if end < 0 else end + 1


class _Parser:
    """pandas' C parser for one segment after another: one parser per thread, given each
    segment's bytes (``TextReader.load_buffer``, as pandas' own parallel reader does), or,
    where this pandas lacks that, ``pandas.read_csv`` of the segment (same answer, ~1.6x
    the time). Gives the columns as pandas made them and the number of rows."""

    def __init__(self, sep: str, header: Sequence[str], na: object) -> None:
        self.header = list(header)
        self.options: dict[str, object] = {
            "sep": sep, "header": None, "names": self.header, "keep_default_na": False,
            "na_values": na, "engine": "c", "low_memory": False}
        self.local = threading.local()
        self.readers: list[object] = []
        self.lock = threading.Lock()

    def __call__(self, data: memoryview) -> tuple[Mapping[str, object], int]:
        engine: Any = getattr(self.local, "engine", None)
        if engine is None:
            engine = self.local.engine = self._engine()
        if engine is False:
            frame = pd.read_csv(io.BytesIO(data), **self.options)  # type: ignore[call-overload]
            index = frame.index
            if (list(frame.columns) != self.header or not isinstance(index, pd.RangeIndex)
                    or index.start != 0 or index.step != 1):
                raise _Refused  # a row longer than the header made pandas take an index
            return {name: frame[name] for name in self.header}, len(frame)
        inner = engine._reader
        inner.load_buffer(data)
        engine._first_chunk = True  # a reused parser: an empty segment gives empty columns
        index, names, values = engine.read()
        if index is not None or list(names) != self.header or inner.na_left_literal:
            raise _Refused  # an index taken from a long row; NA spellings left as text
        return values, len(values[self.header[0]])

    def _engine(self) -> Any:
        reader = pd.read_csv(io.BytesIO(b""), iterator=True, **self.options)  # type: ignore
        engine = getattr(reader, "_engine", None)
        inner: Any = getattr(engine, "_reader", None)
        if not all(hasattr(inner, a) for a in ("load_buffer", "na_left_literal",
                                                 "trim_after_read")):
            reader.close()
            return False
        inner.trim_after_read = False  # buffers reused segment after segment
        if hasattr(inner, "block_workers"):  # row-blocked conversion, as pandas' parallel read
            inner.block_workers = THREADS or len(os.sched_getaffinity(0)) or 1
        with self.lock:
            self.readers.append(reader)
        return engine

    def close(self) -> None:
        for reader in self.readers:
            reader.close()  # type: ignore[attr-defined]
        self.readers.clear()


def _segments(fd: int, size: int, start: int, sep: str, header: Sequence[str], na: object,
              likely: int) -> pd.DataFrame:
    """Segments parsed AHEAD per thread ahead of the one being copied, in file order. The file
    is mapped, not read: each parser gets a view of its segment (no copy), and the pages of
    the segments copied are dropped from this process (the page cache keeps them), so the
    mapping adds only the segments in flight to the resident set."""
    threads = THREADS or len(os.sched_getaffinity(0)) or 1
    columns = _Columns(header, likely)
    parse = _Parser(sep, header, na)
    mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    view = memoryview(mm)
    try:
        with ThreadPoolExecutor(threads) as pool:
            pending: deque[tuple[int, Future[tuple[Mapping[str, object], int]]]] = deque()
            at, dropped = start, 0
            try:
                while at < size or pending:
                    while at < size and len(pending) < threads * AHEAD:
                        stop = _cut(mm, size, at)
                        if mm.find(QUOTE, at, stop) >= 0:
                            raise _Quoted
                        pending.append((stop, pool.submit(parse, view[at:stop])))
                        at = stop
                    stop, future = pending.popleft()
                    columns.add(*future.result())
                    page = stop // mmap.PAGESIZE * mmap.PAGESIZE  # before the next segment
                    if page > dropped and hasattr(mmap, "MADV_DONTNEED"):
                        mm.madvise(mmap.MADV_DONTNEED, dropped, page - dropped)
                        dropped = page
            finally:
                for _, future in pending:
                    future.cancel()
    finally:
        parse.close()
        del view
        with contextlib.suppress(BufferError):  # a view a traceback still holds
            mm.close()
    return columns.frame()


def _chunked(handle: IO[bytes], sep: str, header: Sequence[str], na: object,
             likely: int) -> pd.DataFrame:
    """A file that must not be cut: pandas' chunked reader, one of its own chunks at a time."""
    columns = _Columns(header, likely)
    with pd.read_csv(handle, sep=sep, keep_default_na=False, na_values=na, engine="c",
                     chunksize=columns.chunk) as reader:
        for frame in reader:
            if list(frame.columns) != columns.header or not isinstance(
                    frame.index, pd.RangeIndex) or frame.index.start != columns.rows:
                raise _Refused
            columns.add({name: frame[name] for name in columns.header}, len(frame))
    if not columns.rows:
        raise _Refused
    return columns.frame()


__all__ = ["SEGMENT", "pandas_chunk_rows", "pandas_string_dtype", "read_csv_fast"]
