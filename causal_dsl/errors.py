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

    def to_json(self) -> dict[str, Any]:
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

    def render(self, source: str | None = None) -> str:
        """Render as ``path:line:col: severity[code]: message`` plus the line, a caret and help.

        >>> d = Diagnostic("E201", "unknown variable 'helth'", Span("s.causal", 1, 11, 1, 16),
        ...                help="did you mean 'health'?")
        >>> print(d.render("drug -> helth"))
        s.causal:1:11: error[E201]: unknown variable 'helth'
            1 | drug -> helth
              |         ^^^^^
              = help: did you mean 'health'?
        """
        where = f"{self.span}: " if self.span else ""
        lines = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        gutter = 4
        if self.span is not None and source is not None:
            text_lines = source.splitlines()
            if 1 <= self.span.line <= len(text_lines):
                text = text_lines[self.span.line - 1].expandtabs(1)
                number = str(self.span.line)
                gutter = max(gutter, len(number) + 1)
                width = (
                    self.span.end_column - self.span.column
                    if self.span.end_line == self.span.line
                    else len(text) - self.span.column + 1
                )
                width = max(1, width)
                lines.append(f"{number.rjust(gutter)} | {text}")
                lines.append(f"{' ' * gutter} | {' ' * (self.span.column - 1)}{'^' * width}")
        for note in self.notes:
            lines.append(f"{' ' * gutter} = note: {note}")
        if self.help:
            lines.append(f"{' ' * gutter} = help: {self.help}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
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
        super().__init__(self.render())

    def render(self) -> str:
        parts = []
        for d in self.diagnostics:
            source = self.sources.get(d.span.path) if d.span else None
            parts.append(d.render(source))
        return "\n\n".join(parts)

    def to_json(self) -> list[dict[str, Any]]:
        return [d.to_json() for d in self.diagnostics]

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
    return json.dumps({"diagnostics": error.to_json()}, indent=2)


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
