"""Between the project's positions and the protocol's: spans, ranges and diagnostics.

In: `Span` (1-based line and column, counted in characters, end exclusive) and `Diagnostic`
values; LSP `Position` values from the client. Out: `lsprotocol` ranges and diagnostics, and
1-based (line, column) pairs. Raises nothing.

LSP counts columns in UTF-16 code units unless client and server agree on UTF-8 or UTF-32 at
start-up; a label with an emoji or a name such as ```température``` would otherwise put
squiggles in the wrong place. Every conversion takes the negotiated encoding and works line
by line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types as lsp

from ..errors import Diagnostic, Span

SOURCE = "causal"
UTF16 = "utf-16"
_SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "note": lsp.DiagnosticSeverity.Information,
}


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-32":
        return 1
    return 2 if ord(ch) > 0xFFFF else 1


def client_column(line_text: str, column: int, encoding: str = UTF16) -> int:
    """The 0-based offset, in the client's code units, of 1-based character `column`.

    >>> client_column("x = 😀y", 6), client_column("x = 😀y", 6, "utf-32")
    (6, 5)
    """
    prefix = line_text[: max(0, column - 1)]
    if encoding == "utf-32":
        return len(prefix)
    return sum(_units(ch, encoding) for ch in prefix)


def char_column(line_text: str, offset: int, encoding: str = UTF16) -> int:
    """The 1-based character column of a 0-based client offset (inverse of `client_column`)."""
    units = 0
    for i, ch in enumerate(line_text):
        if units >= offset:
            return i + 1
        units += _units(ch, encoding)
    return len(line_text) + 1


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number - 1] if 1 <= number <= len(lines) else ""


def to_range(span: Span | None, lines: Sequence[str], encoding: str = UTF16) -> lsp.Range:
    """The protocol range of `span`; the start of the file when there is no span."""
    if span is None:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    start = lsp.Position(span.line - 1,
                         client_column(_line(lines, span.line), span.column, encoding))
    end = lsp.Position(span.end_line - 1,
                       client_column(_line(lines, span.end_line), span.end_column, encoding))
    return lsp.Range(start, end)


def from_position(position: lsp.Position, lines: Sequence[str],
                  encoding: str = UTF16) -> tuple[int, int]:
    """A client position as the 1-based (line, column) that spans use."""
    line = position.line + 1
    return line, char_column(_line(lines, line), position.character, encoding)


def to_lsp(d: Diagnostic, lines: Sequence[str], encoding: str = UTF16) -> lsp.Diagnostic:
    """One diagnostic as the client shows it: notes and help under the message, the code
    linked, and `data` carrying what a code action needs (the help text) back to the server."""
    message = d.message
    for note in d.notes:
        message += f"\nnote: {note}"
    if d.help:
        message += f"\nhelp: {d.help}"
    data: dict[str, Any] = {"code": d.code, "help": d.help}
    return lsp.Diagnostic(
        range=to_range(d.span, lines, encoding),
        message=message,
        severity=_SEVERITY.get(d.severity, lsp.DiagnosticSeverity.Error),
        code=d.code,
        source=SOURCE,
        data=data,
    )
