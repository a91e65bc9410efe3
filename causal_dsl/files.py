"""Files in and out: one reader of study files and one writer of outputs, for every verb.

In: a path (``-`` for standard input where a verb allows it). Out: the file's text; or, for
`write_atomic`, the path written. Reading raises `ModelError` E200 when the file cannot be read
(no such file, a directory, no permission) and `ParseError` E100 when it is not UTF-8 text — the
same codes whether the verb is ``check``, ``fmt``, ``diff``, ``lint``, ``run`` or
``import dagitty``. Writing raises `RenderError` E606 and never leaves a partial file: the
content goes to a temporary file in the target's folder, is flushed to disk, and replaces the
target in one rename (keeping the old file's permission bits), so a full disk, a size limit or
a crash leaves the old file (or none), never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

from .errors import Diagnostic, ModelError, ParseError, RenderError, Span


def read_text(path: str | Path, *, what: str = "file") -> str:
    """The UTF-8 text of `path` (``"-"`` reads standard input).

    >>> read_text("no/such/study.causal")
    Traceback (most recent call last):
    ...
    causal_dsl.errors.ModelError: no/such/study.causal:1:1: error[E200]: cannot read ...
    ...
    """
    shown = str(path)
    try:
        data = sys.stdin.buffer.read() if shown == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "it is a directory"
    except PermissionError:
        problem = "permission denied"
    except OSError as error:
        problem = error.strerror or str(error)
    else:
        return decode(data, "standard input" if shown == "-" else shown, what=what)
    raise ModelError(Diagnostic("E200", f"cannot read {shown}: {problem}",
                                Span(shown, 1, 1, 1, 1), help=f"check the path of the {what}"))


def decode(data: bytes, shown: str, *, what: str = "file") -> str:
    """Bytes read from `shown` as text, or `ParseError` E100 at the line and column of the
    first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", errors="replace")) + 1
        span = Span(shown, line, column, line, column + 1)
        raise ParseError(Diagnostic(
            "E100", f"not UTF-8 text ({error.reason} at byte {error.start})", span,
            help=f"save the {what} as UTF-8")) from None


def write_atomic(path: str | Path, content: bytes | str) -> Path:
    """Write `content` (text as UTF-8) to `path` atomically; returns the path.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> write_atomic(target, "one\\n").read_text()
    'one\\n'
    """
    out = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        mode = stat.S_IMODE(out.stat().st_mode)
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise _write_error(out, error) from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    except OSError as error:
        raise _write_error(out, error) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        else:  # a new file gets the usual permissions (mkstemp makes it 0600)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, out)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise _write_error(out, error) from None
        raise
    return out


def _write_error(out: Path, error: OSError) -> RenderError:
    return RenderError(Diagnostic("E606", f"cannot write {out}: {error.strerror or error}",
                                  help="check that the directory exists, is writable and has "
                                  "space left"))
