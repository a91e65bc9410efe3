"""The syntax tree: statements exactly as written, each part with its span.

In: nothing (built by `causal_dsl.syntax.parse_syntax`). Out: frozen dataclasses, spans excluded
from equality. Raises nothing. Re-exported by `causal_dsl.syntax`, where callers import them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Span


@dataclass(frozen=True, slots=True)
class Ident:
    """A name as written; `text` has backquotes removed."""

    text: str
    span: Span = field(compare=False, repr=False)
    quoted: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Value:
    """An option value or a level: kind is "string", "number", "name", "set", "formula" (a
    `FormulaNode` of more than one name) or "keyed" (a level written ``control = "ctl"``: the
    key's `Ident` and the level's `Value`)."""

    kind: str
    value: Any  # str, int, float, tuple[Ident, ...], FormulaNode or (Ident, Value)
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FormulaNode:
    """A model formula as written (``age + age^2 + educ:re74``), before `causal_dsl.terms`
    reads it: `op` is "+", "*", ":" or "^" (two operands), "call" (an `Ident` then the
    arguments), "()" (one operand), "name" (one `Ident`) or "number" (the text as written)."""

    op: str
    args: tuple[FormulaNode | Ident | str, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CondNode:
    """A condition of ``var d: binary when ...`` as written, before `causal_dsl.conditions`
    reads it: `op` is "or" / "and" (two operands), "not" / "()" (one operand) or a comparison
    operator ("==", "!=", "<", "<=", ">", ">="), whose two operands are `Value`s (a column
    name, a number or a string)."""

    op: str
    args: tuple[CondNode | Value, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Derivation:
    """How a derived variable is built: ``from first_treated = column`` (`key` is the word
    written after ``from``, `value` the column) or ``when <condition>`` (`condition`)."""

    key: Ident | None
    value: Value | None
    condition: CondNode | None
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Option:
    key: Ident
    value: Value
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StudyStmt:
    title: str
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DataStmt:
    source: str
    panel: tuple[Option, ...] | None
    span: Span = field(compare=False, repr=False)
    source_span: Span | None = field(default=None, compare=False, repr=False)
    weights: WeightsClause | None = None
    # ``data duckdb("w.duckdb", table = "visits")``: the engine; `source` is then its path or ""
    engine: EngineSource | None = None


@dataclass(frozen=True, slots=True)
class EngineSource:
    """``duckdb("warehouse.duckdb", table = "visits")``: engine name, path (or None), options."""

    kind: Ident
    path: str | None
    options: tuple[Option, ...]
    span: Span = field(compare=False, repr=False)
    path_span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class WeightsClause:
    """``weights(popwt, kind = "analytic")``: the column, then options."""

    column: Ident
    options: tuple[Option, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class VarStmt:
    name: Ident
    type_name: Ident
    levels: tuple[Value, ...] | None
    column: str | None
    label: str | None
    span: Span = field(compare=False, repr=False)
    derivation: Derivation | None = None


@dataclass(frozen=True, slots=True)
class LatentStmt:
    name: Ident
    invariant: bool
    label: str | None
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Term:
    """One side of an arrow: a single name or a ``{group}``."""

    names: tuple[Ident, ...]
    group: bool
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ArrowStmt:
    """``a -> {b, c} <-> d``: `ops[i]` ("->", "<-" or "<->") joins `terms[i]` and `terms[i+1]`."""

    terms: tuple[Term, ...]
    ops: tuple[str, ...]
    span: Span = field(compare=False, repr=False)
    op_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SetClause:
    """``adjusting {..}``, ``adjust for {..}`` or ``never adjust for {..}``."""

    kind: str  # "adjusting" | "adjust_for" | "never_adjust_for"
    names: tuple[Ident, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UsingClause:
    method: Ident
    options: tuple[Option, ...] | None
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class QueryStmt:
    name: Ident
    estimand: Ident
    treatment: Ident
    outcome: Ident
    clauses: tuple[SetClause | UsingClause, ...]
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SelectedStmt:
    """``selected s "label"``: a selection node, the data is conditioned on it (s = 1)."""

    name: Ident
    label: str | None
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class LayoutStmt:
    """``layout x = (0.1, 0.5)``: where a drawing puts x; `written` keeps the numbers as
    written (the formatter prints them back unchanged)."""

    name: Ident
    x: float
    y: float
    written: tuple[str, str]
    span: Span = field(compare=False, repr=False)


Statement = (StudyStmt | DataStmt | VarStmt | LatentStmt | ArrowStmt | QueryStmt | SelectedStmt
             | LayoutStmt)


@dataclass(frozen=True, slots=True)
class Comment:
    text: str  # including the leading '#'
    span: Span = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SyntaxFile:
    path: str | None
    text: str
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...]


