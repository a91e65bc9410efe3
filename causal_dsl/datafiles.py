"""Where a bound data file is and what it is, without pandas: the part of reading that the
review verbs (``causal check``, ``causal lint``) need, importable by a core install.

In: a path, and the study (`Model`) it is bound to. Out: the reading options in force
(`reading`, `current_options`), the file's format by extension (`table_kind`), an open handle
on a regular file (`open_regular`), its header (`read_header`: CSV/TSV by the `csv` module,
Parquet by pyarrow's schema when pyarrow is installed) and a bounded sample of its rows as text
(`read_sample`). `causal_dsl.tables` re-exports all of it and reads whole files with pandas.

Raises `DataError`: E402 file not found · E403 unreadable or unknown format · E417 not a
regular file · E418 outside the study's folder tree and repository (see `causal_dsl.tables`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .errors import DataError, Diagnostic, Span, suggest

if TYPE_CHECKING:
    from .model import Model

# What a CSV cell may say to be missing. pandas' defaults minus its legacy C-runtime spellings
# (1.#IND, -1.#QNAN, ...); a cell of blanks is missing too (see `causal_dsl.data`).
MISSING_SPELLINGS: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>",
    "#N/A", "#NA",
)
ALLOW_OUTSIDE_ENV = "CAUSAL_ALLOW_DATA_OUTSIDE"
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
TABLE_KINDS = frozenset({".parquet", ".pq", ".csv", ".tsv", ".txt"})


# --------------------------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadOptions:
    """How strictly a data file is read.

    `allow_outside`: read a file outside the study's folder tree and repository (default: the
    environment variable ``CAUSAL_ALLOW_DATA_OUTSIDE=1``, else no). `drop_nonfinite`: count
    infinite values of declared columns and make them missing (dropped listwise like any missing
    value) instead of refusing the file.
    """

    allow_outside: bool = False
    drop_nonfinite: bool = False


_OPTIONS: ContextVar[ReadOptions | None] = ContextVar("causal_read_options", default=None)


def current_options() -> ReadOptions:
    """The options in force: those of the innermost `reading(...)`, else the environment's."""
    chosen = _OPTIONS.get()
    if chosen is not None:
        return chosen
    return ReadOptions(allow_outside=os.environ.get(ALLOW_OUTSIDE_ENV, "") == "1")


@contextlib.contextmanager
def reading(*, allow_outside: bool | None = None, drop_nonfinite: bool | None = None
            ) -> Iterator[ReadOptions]:
    """Set reading options for every data read inside the block (the CLI's flags use it, so
    that a verb that reads data deep inside — ``run``, ``report``, ``lint`` — honours them).

    >>> with reading(drop_nonfinite=True) as options:
    ...     options.drop_nonfinite, current_options().drop_nonfinite
    (True, True)
    >>> current_options().drop_nonfinite
    False
    """
    base = current_options()
    chosen = replace(
        base,
        allow_outside=base.allow_outside if allow_outside is None else allow_outside,
        drop_nonfinite=base.drop_nonfinite if drop_nonfinite is None else drop_nonfinite,
    )
    token = _OPTIONS.set(chosen)
    try:
        yield chosen
    finally:
        _OPTIONS.reset(token)


# --------------------------------------------------------------------------------------------
# where the file is, and what it is
# --------------------------------------------------------------------------------------------
def allowed_roots(study_path: str | Path) -> tuple[Path, ...]:
    """The folders a study's data may lie in: the study's folder and, when the study is in a
    git work tree, its root (the nearest folder up holding ``.git``)."""
    folder = Path(study_path).resolve().parent
    roots = [folder]
    for up in (folder, *folder.parents):
        if (up / ".git").exists():
            if up != folder:
                roots.append(up)
            break
    return tuple(roots)


def confine(path: Path, study: Model, *, allow_outside: bool | None = None) -> None:
    """Raise E418 unless `path` (already resolved) lies under one of the study's
    `allowed_roots`: a CI job checking a pull request's study must not read, and echo, a file
    elsewhere on the machine. A study without a path (parsed from text) is not confined."""
    allow = current_options().allow_outside if allow_outside is None else allow_outside
    if allow or study.path is None:
        return
    real = Path(path).resolve()
    roots = allowed_roots(study.path)
    if any(real == root or root in real.parents for root in roots):
        return
    written = study.data.source if study.data is not None else str(path)
    raise DataError(Diagnostic(
        "E418",
        f"data file '{written}' is outside the study's folder"
        + (" and its repository" if len(roots) > 1 else ""),
        study.data.span if study.data is not None else None,
        notes=(f"it resolves to {real}; allowed: "
               + ", ".join(f"{root}{os.sep}..." for root in roots),),
        help="move the data next to the study, or pass --allow-data-outside (Python: "
        f"allow_outside=True; environment: {ALLOW_OUTSIDE_ENV}=1) if you trust the study",
    ), _sources(study))


def _kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    for test, word in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return word
    return None if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str | Path, span: Span | None = None) -> IO[bytes]:
    """Open `path` for reading if it is a regular file; E402/E417 otherwise.

    Opened without blocking and checked on the open descriptor (not by name first, which a
    rename could race): a FIFO would block a plain open forever, and ``/dev/zero`` never ends.
    """
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        siblings = [c.name for c in p.parent.iterdir()] if p.parent.is_dir() else []
        raise DataError(Diagnostic(
            "E402", f"data file '{p}' not found", span,
            help=suggest(p.name, siblings)
            or "the path in `data \"...\"` is relative to the .causal file")) from None
    except IsADirectoryError:
        raise _not_regular(p, "a folder", span) from None
    except OSError as error:
        raise DataError(Diagnostic(
            "E403", f"cannot read data file '{p}': {error.strerror or error}", span,
            help="check the file's permissions")) from None
    kind = _kind_of(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise _not_regular(p, kind, span)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _not_regular(p: Path, kind: str, span: Span | None) -> DataError:
    return DataError(Diagnostic(
        "E417", f"data file '{p}' is {kind}, not a regular file", span,
        help="bind a regular CSV, TSV or Parquet file (reading a pipe or device could block "
        "or never end); copy the stream to a file first"))


def table_kind(path: Path) -> str:
    """The file's format by extension, looking through a compression suffix ("x.csv.gz")."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _compression(path: Path) -> str | None:
    return _COMPRESSION.get(path.suffix.lower())


def _sources(study: Model) -> dict[str | None, str]:
    return {study.path: study.source} if study.source is not None else {}


# --------------------------------------------------------------------------------------------
# header and sample, by the csv module
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """The first rows of a file as written: `header`, per column the cells as text (None for a
    Parquet file's null), the physical line each row starts on (``lines``; the header is line 1;
    for Parquet the row number from 1), whether the file has more rows (`complete` false), and
    `kind` ("csv" or "parquet")."""

    header: tuple[str, ...]
    columns: dict[str, list[str | None]]
    lines: tuple[int, ...]
    complete: bool
    kind: str

    def __len__(self) -> int:
        return len(self.lines)


def _unknown_format(p: Path, kind: str, span: Span | None) -> DataError:
    return DataError(Diagnostic(
        "E403", f"data file '{p}' has an unknown format ('{kind or 'no extension'}')", span,
        help="use a .csv, .tsv or .parquet file"))


def _unreadable(p: Path, exc: BaseException, span: Span | None) -> DataError:
    return DataError(Diagnostic(
        "E403", f"cannot read data file '{p}': {str(exc).splitlines()[0] if str(exc) else exc}",
        span, help="the file must be a CSV (with a header line) or a Parquet file"))


def _text_stream(handle: IO[bytes], p: Path) -> IO[str]:
    """The file as text: decompressed by the standard library (gzip, bz2, xz, a one-member
    zip; zstd needs the `zstandard` package), UTF-8 with a byte-order mark dropped."""
    comp = _compression(p)
    stream: Any = handle
    if comp == "gzip":
        import gzip
        stream = gzip.GzipFile(fileobj=handle)
    elif comp == "bz2":
        import bz2
        stream = bz2.BZ2File(handle)
    elif comp == "xz":
        import lzma
        stream = lzma.LZMAFile(handle)  # noqa: SIM115 (closed with the text stream)
    elif comp == "zip":
        import zipfile
        archive = zipfile.ZipFile(handle)
        names = archive.namelist()
        if len(names) != 1:
            raise ValueError(f"a zip archive of {len(names)} files (one is read)")
        stream = archive.open(names[0])
    elif comp == "zstd":
        import zstandard  # type: ignore[import-not-found]
        stream = zstandard.ZstdDecompressor().stream_reader(handle)
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


_READ_ERRORS = (ValueError, OSError, ImportError, UnicodeDecodeError, csv.Error, EOFError)


def read_header(path: str | Path, *, study: Model | None = None, span: Span | None = None
                ) -> list[str]:
    """The column names of a CSV/TSV/Parquet file as written, reading no rows.

    Raises E402/E403/E417, and E418 when `study` is given and the file is outside its folder
    tree. A Parquet schema needs pyarrow (E403 naming it when it is not installed).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text('\\ufeffage,"sex, at birth"\\n41,F\\n')
    >>> read_header(f)
    ['age', 'sex, at birth']
    """
    return list(read_sample(path, 0, study=study, span=span).header)


def read_sample(path: str | Path, rows: int, *, study: Model | None = None,
                span: Span | None = None) -> Sample:
    """The header and the first `rows` data rows of a CSV/TSV/Parquet file, as text.

    Blank lines are skipped (as pandas does); a row shorter than the header is padded with
    empty cells, and a longer one raises E403 (pandas refuses it too). Raises like
    `read_header`.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = f.write_text('x,y\\n1,"a\\nb"\\n\\n2,c\\n3,d\\n')
    >>> s = read_sample(f, 2)
    >>> s.columns["y"], s.lines, s.complete
    (['a\\nb', 'c'], (2, 5), False)
    """
    p = Path(path)
    if study is not None:
        confine(p, study)
    kind = table_kind(p)
    with open_regular(p, span) as handle:  # a pipe or a device is refused whatever its name
        if kind not in TABLE_KINDS:
            raise _unknown_format(p, kind, span)
        try:
            if kind in {".parquet", ".pq"}:
                return _parquet_sample(handle, rows)
            return _csv_sample(_text_stream(handle, p), "\t" if kind == ".tsv" else ",", rows)
        except DataError:
            raise
        except _READ_ERRORS as exc:
            raise _unreadable(p, exc, span) from exc


def _csv_sample(text: IO[str], sep: str, rows: int) -> Sample:
    reader = csv.reader(text, delimiter=sep)
    header: list[str] | None = None
    cells: list[list[str]] = []
    lines: list[int] = []
    last = 0
    complete = True
    for record in reader:
        start, last = last + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip() and header is not None):
            continue  # a blank line: pandas skips it
        if header is None:
            header = record
            continue
        if len(cells) >= rows:
            complete = False
            break
        if len(record) > len(header):
            raise ValueError(f"line {start} has {len(record)} fields, the header "
                             f"{len(header)}")
        cells.append(record + [""] * (len(header) - len(record)))
        lines.append(start)
    if header is None:
        raise ValueError("the file is empty (no header line)")
    names = tuple(header)
    columns: dict[str, list[str | None]] = {
        name: [row[i] for row in cells] for i, name in enumerate(names)}
    return Sample(names, columns, tuple(lines), complete, "csv")


def _parquet_sample(handle: IO[bytes], rows: int) -> Sample:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading Parquet needs pyarrow: pip install 'causal-dsl[parquet]'"
                          ) from None
    parquet = pq.ParquetFile(handle)
    header = tuple(str(c) for c in parquet.schema_arrow.names)
    columns: dict[str, list[str | None]] = {name: [] for name in header}
    kinds = {str(f.name): str(f.type) for f in parquet.schema_arrow}
    taken = 0
    if rows > 0:
        for batch in parquet.iter_batches(batch_size=min(rows, 65536)):
            for name, column in zip(header, batch.columns, strict=True):
                values = column.to_pylist()[: rows - taken]
                columns[name].extend(_parquet_text(v, kinds[name]) for v in values)
            taken = min(rows, taken + batch.num_rows)
            if taken >= rows:
                break
    complete = parquet.metadata.num_rows <= taken
    return Sample(header, columns, tuple(range(1, taken + 1)), complete, "parquet")


def _parquet_text(value: Any, kind: str) -> str | None:
    """A Parquet cell as text the way the checks read it: None for null, booleans as
    True/False, integral floats without '.0' left to the checks."""
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value) if value == value else None
    return str(value)


__all__ = ["ALLOW_OUTSIDE_ENV", "MISSING_SPELLINGS", "TABLE_KINDS", "ReadOptions", "Sample",
           "allowed_roots", "confine", "current_options", "open_regular", "read_header",
           "read_sample", "reading", "table_kind"]
