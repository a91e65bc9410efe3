"""Derived treatments: the small comparison language of ``var d: binary when ...`` and the
``from first_treated = column`` form, read from the syntax into frozen values.

In: a `syntax.Derivation` (``when year >= 2011.3 and state == "CA"`` or
``from first_treated = first_year``). Out: a `Derived` value for `model.Variable.derived`, whose
``str`` is the construct as the language writes it (the semantic diff shows it). Nothing is ever
evaluated as Python: `causal_dsl.derive` interprets the tree on the data, node by node. Raises
nothing itself: `read_derivation` reports problems (E227: an unknown ``from`` form, a
comparison between two literals) to the `DiagnosticSink` it is given.

The language: comparisons ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` between a column name and
a number or a "string" (or two column names), joined by ``and``, ``or``, ``not`` and
parentheses; ``not`` binds tightest, then ``and``, then ``or`` (as in SQL and Python).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import DiagnosticSink, Span, suggest
from .syntax_tree import CondNode, Derivation, Value

FROM_FORMS = ("first_treated",)
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_KEYWORDS = frozenset({"and", "or", "not", "when", "from"})


def _name(text: str) -> str:
    return text if _PLAIN.fullmatch(text) and text not in _KEYWORDS else f"`{text}`"


@dataclass(frozen=True, slots=True)
class Column:
    """A data column, read raw (before any declared coding)."""

    name: str
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return _name(self.name)


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if isinstance(self.value, str):
            return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(self.value)


@dataclass(frozen=True, slots=True)
class Compare:
    left: Column | Literal
    op: str  # == != < <= > >=
    right: Column | Literal
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass(frozen=True, slots=True)
class Logic:
    """``and`` / ``or`` of two or more conditions, or ``not`` of one."""

    op: str
    args: tuple[Condition, ...]
    span: Span | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        if self.op == "not":
            return f"not {_wrap(self.args[0], 'not')}"
        return f" {self.op} ".join(_wrap(a, self.op) for a in self.args)


Condition = Compare | Logic
_BINDING = {"or": 0, "and": 1, "not": 2}


def _wrap(c: Condition, parent: str) -> str:
    """Parentheses exactly where the precedence needs them."""
    if isinstance(c, Logic) and _BINDING[c.op] <= _BINDING[parent] and c.op != "not":
        return f"({c})"
    return str(c)


@dataclass(frozen=True, slots=True)
class Derived:
    """How a derived binary variable is built: `condition` holds in the row (``when``), or the
    row's period is at or after the unit's first treated period in `first_treated` (0 = never
    treated, the `did` package's convention)."""

    condition: Condition | None = None
    first_treated: str | None = None
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def columns(self) -> tuple[str, ...]:
        """The data columns it reads (the panel's time column besides, for first_treated)."""
        if self.first_treated is not None:
            return (self.first_treated,)
        found: list[str] = []

        def walk(c: Condition) -> None:
            if isinstance(c, Compare):
                found.extend(o.name for o in (c.left, c.right) if isinstance(o, Column))
            else:
                for a in c.args:
                    walk(a)

        assert self.condition is not None
        walk(self.condition)
        return tuple(dict.fromkeys(found))

    def __str__(self) -> str:
        if self.first_treated is not None:
            return f"from first_treated = {_name(self.first_treated)}"
        return f"when {self.condition}"


def read_derivation(node: Derivation, sink: DiagnosticSink) -> Derived | None:
    """The `Derived` value of a derivation as written; None (and E227 in `sink`) if wrong.

    >>> from causal_dsl.syntax import parse_syntax
    >>> stmt = parse_syntax('var d: binary when (t >= 3 or x == "a") and not y < 1\\n')
    >>> print(read_derivation(stmt.statements[0].derivation, DiagnosticSink()))
    when (t >= 3 or x == "a") and not y < 1
    """
    if node.condition is None:
        assert node.key is not None and node.value is not None
        if node.key.text not in FROM_FORMS:
            sink.error("E227", f"unknown derivation 'from {node.key.text} = ...'", node.key.span,
                       help=suggest(node.key.text, FROM_FORMS)
                       or "write `from first_treated = <column of each unit's first treated "
                       "period>` or `when <condition>`")
            return None
        return Derived(first_treated=str(node.value.value), span=node.span)
    condition = _read(node.condition, sink)
    return None if condition is None else Derived(condition=condition, span=node.span)


def _read(node: CondNode, sink: DiagnosticSink) -> Condition | None:
    if node.op == "()":
        return _read(node.args[0], sink)  # type: ignore[arg-type]
    if node.op in _BINDING:
        parts = [_read(a, sink) for a in node.args]  # type: ignore[arg-type]
        if any(p is None for p in parts):
            return None
        args: list[Condition] = []
        for p in parts:  # a and b and c is one `and` of three
            assert p is not None
            args.extend(p.args if isinstance(p, Logic) and p.op == node.op != "not" else (p,))
        return Logic(node.op, tuple(args), node.span)
    left, right = (_operand(v) for v in node.args)  # type: ignore[arg-type]
    if isinstance(left, Literal) and isinstance(right, Literal):
        sink.error("E227", f"the comparison '{left} {node.op} {right}' compares two values",
                   node.span, help="compare a column with a value, e.g. year >= 2011")
        return None
    return Compare(left, node.op, right, node.span)


def _operand(value: Value) -> Column | Literal:
    if value.kind == "name":
        return Column(str(value.value), value.span)
    return Literal(value.value, value.span)
