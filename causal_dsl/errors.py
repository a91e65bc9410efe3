"""Spans, diagnostics and the one exception type every stage raises.

In: positions from the parser and messages from each stage. Out: `Diagnostic` values and
`CausalError` (with one subclass per stage) that carries them. One renderer turns a diagnostic
into the ``file:line:col: error[E201]: message`` form with the source line and a caret.

Error codes are stable; they are listed in ``docs/language.md``:

* ``E1xx`` syntax (parser), ``E2xx`` model (names, types, options, data file),
* ``E3xx`` graph and identification, ``E4xx`` data, ``E5xx`` planner and estimators,
* ``E6xx`` rendering, ``E7xx`` formatting and diff, ``Lxxx`` lint warnings.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Severity = Literal["error", "warning", "note"]

SHOWN_DIAGNOSTICS = 50  # rendered as text; JSON carries every one
SHOWN_LINE_WIDTH = 120  # a longer source line is cut around the caret


class Span(NamedTuple):
    """A region of a source file: 1-based line and column, end column exclusive.

    A named tuple rather than a dataclass: a large study creates hundreds of thousands of them,
    and a tuple is three times cheaper to build.

    >>> Span("s.causal", 3, 5, 3, 9)
    Span(path='s.causal', line=3, column=5, end_line=3, end_column=9)
    """

    path: str | None
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path or '<string>'}:{self.line}:{self.column}"

    def cover(self, other: Span) -> Span:
        """The smallest span containing both (used for a statement built from its parts)."""
        if (other.line, other.column) < (self.line, self.column):
            self, other = other, self
        if (other.end_line, other.end_column) < (self.end_line, self.end_column):
            return self
        return Span(self.path, self.line, self.column, other.end_line, other.end_column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a study, with where it is and what to do about it."""

    code: str
    message: str
    span: Span | None = None
    help: str | None = None
    severity: Severity = "error"
    notes: tuple[str, ...] = ()

    def render(self, source: str | SourceLines | None = None) -> str:
        """Render as ``path:line:col: severity[code]: message`` plus the line, a caret and help.

        >>> d = Diagnostic("E201", "unknown variable 'helth'", Span("s.causal", 1, 11, 1, 16),
        ...                help="did you mean 'health'?")
        >>> print(d.render("drug -> helth"))
        s.causal:1:11: error[E201]: unknown variable 'helth'
            1 | drug -> helth
              |         ^^^^^
              = help: did you mean 'health'?

        Control characters in the message or the source line are shown escaped (``\\x1b``),
        so that a hostile name cannot drive the terminal; a long line is cut around the caret.
        """
        where = f"{visible(str(self.span))}: " if self.span else ""
        lines = [f"{where}{self.severity}[{self.code}]: {visible(self.message)}"]
        gutter = 4
        if self.span is not None and source is not None:
            index = source if isinstance(source, SourceLines) else SourceLines(source)
            text = index.line(self.span.line)
            if text is not None:
                text = text.expandtabs(1)
                number = str(self.span.line)
                gutter = max(gutter, len(number) + 1)
                width = (
                    self.span.end_column - self.span.column
                    if self.span.end_line == self.span.line
                    else len(text) - self.span.column + 1
                )
                width = max(1, width)
                start = self.span.column - 1
                shown, start, width = _window(text, start, width)
                lines.append(f"{number.rjust(gutter)} | {shown}")
                lines.append(f"{' ' * gutter} | {' ' * start}{'^' * width}")
        for note in self.notes:
            lines.append(f"{' ' * gutter} = note: {visible(note)}")
        if self.help:
            lines.append(f"{' ' * gutter} = help: {visible(self.help)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "span": self.span.to_dict() if self.span else None,
            "help": self.help,
            "notes": list(self.notes),
        }


class CausalError(Exception):
    """The project's one exception type: a list of diagnostics plus the sources they point into.

    The CLI catches exactly this type; anything else is a bug and keeps its traceback.
    """

    def __init__(
        self,
        diagnostics: Sequence[Diagnostic] | Diagnostic,
        sources: dict[str | None, str] | None = None,
    ) -> None:
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        self.sources: dict[str | None, str] = dict(sources or {})
        # Rendered on demand, not here: building the message of every diagnostic up front
        # made thousands of errors in one file quadratic in time and memory.
        super().__init__(*(d.message for d in self.diagnostics[:1]))

    def render(self, limit: int | None = SHOWN_DIAGNOSTICS) -> str:
        """The diagnostics as text, each source indexed once; after `limit` of them, a count
        of the rest (`to_json` always has all of them)."""
        indexes: dict[str | None, SourceLines] = {}
        parts = []
        shown = self.diagnostics if limit is None else self.diagnostics[:limit]
        for d in shown:
            index = None
            if d.span is not None and d.span.path in self.sources:
                index = indexes.get(d.span.path)
                if index is None:
                    index = indexes[d.span.path] = SourceLines(self.sources[d.span.path])
            parts.append(d.render(index))
        rest = len(self.diagnostics) - len(shown)
        if rest > 0:
            parts.append(f"... and {rest} more problem(s) not shown (`--format json` lists "
                         "them all)")
        return "\n\n".join(parts)

    def to_dict(self) -> list[dict[str, Any]]:
        """Every diagnostic as data (all of them, however many; the text is capped)."""
        return [d.to_dict() for d in self.diagnostics]

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def __str__(self) -> str:
        return self.render()


class ParseError(CausalError):
    """The text is not in the `.causal` grammar (codes E1xx)."""


class ModelError(CausalError):
    """The text parses but does not describe a valid study (codes E2xx)."""


class GraphError(CausalError):
    """A question about the graph cannot be answered as asked (codes E3xx)."""


class DataError(CausalError):
    """The bound dataset does not match the declarations (codes E4xx)."""


class PlanError(CausalError):
    """No estimator's assumptions hold for a query, or the chosen one's do not (codes E5xx)."""


class EstimationError(CausalError):
    """An estimator could not produce an answer from the data (codes E5xx)."""


class RenderError(CausalError):
    """A diagram or report could not be produced (codes E6xx)."""


class ReviewError(CausalError):
    """A file or revision could not be formatted, diffed or linted (codes E7xx)."""


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint, or None when nothing is close.

    >>> suggest("helth", ["health", "drug", "age"])
    "did you mean 'health'?"
    """
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def diagnostics_json(error: CausalError) -> str:
    return json.dumps({"diagnostics": error.to_dict()}, indent=2)


@dataclass
class DiagnosticSink:
    """Collects the problems a semantic stage finds so that it can report all of them at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, message: str, span: Span | None = None, **kw: Any) -> None:
        self.items.append(Diagnostic(code, message, span, **kw))

    def warning(self, code: str, message: str, span: Span | None = None, **kw: Any) -> None:
        self.items.append(Diagnostic(code, message, span, severity="warning", **kw))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def raise_if_errors(self, kind: type[CausalError], sources: dict[str | None, str]) -> None:
        errors = self.errors
        if errors:
            errors.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
            raise kind(errors, sources)


# --- showing source text --------------------------------------------------------------------

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F)}
_CONTROL.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})


def visible(text: str) -> str:
    r"""`text` with control characters (other than tab) escaped, for a terminal or a log.

    >>> visible("a\x1b]0;title\x07b")
    'a\\x1b]0;title\\x07b'
    """
    return text.translate(_CONTROL) if not text.isprintable() else text


class SourceLines:
    """A source split into lines once, by the grammar's rule: ``\\n`` ends a line (the parser
    has already turned ``\\r\\n`` and a lone ``\\r`` into ``\\n``), so U+2028, form feeds and
    the like do not move the caret as `str.splitlines` would."""

    __slots__ = ("_lines",)

    def __init__(self, source: str) -> None:
        lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines[-1] == "":  # the end of the last line is not a line of its own
            lines.pop()
        self._lines = lines

    def line(self, number: int) -> str | None:
        """Line `number` (1-based), or None when the file has no such line."""
        return self._lines[number - 1] if 1 <= number <= len(self._lines) else None


def _window(text: str, start: int, width: int) -> tuple[str, int, int]:
    """A line cut to about `SHOWN_LINE_WIDTH` characters around the caret, with the caret's
    new start and width; control characters escaped (the caret moves with them)."""
    if len(text) > SHOWN_LINE_WIDTH:
        left = max(0, min(start - SHOWN_LINE_WIDTH // 3, len(text) - SHOWN_LINE_WIDTH))
        right = left + SHOWN_LINE_WIDTH
        width = max(1, min(width, right - start))
        text = ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
        start = start - left + (1 if left else 0)
    if not text.isprintable():
        before, marked = visible(text[:start]), visible(text[start:start + width])
        text = before + marked + visible(text[start + width:])
        start, width = len(before), max(1, len(marked))
    return text, start, width
