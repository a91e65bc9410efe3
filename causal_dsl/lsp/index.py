"""Where every name of a study is written: the symbol index behind navigation, rename and hover.

In: a `SyntaxFile` (possibly partial: the lines that did not parse left out). Out: an `Index`
listing each occurrence of a variable or query name with its span and whether it is the
definition, plus the arrows read straight from the syntax (parents, children, ``<->``
neighbours) and the ``layout`` positions, so that hover and go-to-definition keep working while
the model has errors. Raises nothing.

What counts as a variable occurrence:

* declarations (``var``, ``latent``, ``selected``: the definitions), names in arrows, a query's
  treatment and outcome, names in ``adjusting`` / ``adjust for`` / ``never adjust for`` sets,
  the name of a ``layout`` line;
* in a method's options: the names of a model formula (``score = age + age^2 + ns(educ, 3)``:
  ``age``, ``age``, ``educ``; the function ``ns`` is not a name), set values (``exact = {ward}``)
  and a lone name given for a set or a formula (``instrument = z``, ``outcome = age``);
* data columns written as names — in a condition (``when year >= 2011``), in
  ``from first_treated = COLUMN``, ``weights(COLUMN, ...)``, ``panel(unit = ..., time = ...)``
  and name-valued options (``cluster = site``) — *when a declared variable reads that column*
  (it has the column's name and no ``as "..."``, and is not derived). The name then is that
  variable's column, and renaming the variable renames its column: the two must stay equal.
  A column no declared variable reads (``popwt``, ``first_year``) is not a variable, and a
  rename leaves it alone.

Comments and strings are never part of the index, so a rename cannot touch them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from ..errors import Span
from ..model import METHOD_OPTIONS
from ..syntax import (
    ArrowStmt,
    CondNode,
    DataStmt,
    FormulaNode,
    Ident,
    LatentStmt,
    LayoutStmt,
    Option,
    QueryStmt,
    SelectedStmt,
    SetClause,
    SyntaxFile,
    UsingClause,
    Value,
    VarStmt,
)

Kind = Literal["variable", "query"]
Declaration = VarStmt | LatentStmt | SelectedStmt
# Option types whose lone name is a variable (`instrument = z`, `score = age`): see METHOD_OPTIONS.
_VARIABLE_VALUED = (tuple, "formula", "score formula")


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One place a name is written. `span` covers the backquotes of a quoted name."""

    name: str
    kind: Kind
    span: Span
    definition: bool = False


@dataclass
class Index:
    """Every occurrence, sorted by position, and the syntax-level graph."""

    occurrences: list[Occurrence] = field(default_factory=list)
    declarations: dict[str, Declaration] = field(default_factory=dict)
    queries: dict[str, QueryStmt] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    confounded: dict[str, set[str]] = field(default_factory=dict)  # a <-> b
    layout: dict[str, tuple[str, str]] = field(default_factory=dict)  # as written
    _starts: list[tuple[int, int]] = field(default_factory=list)

    def at(self, line: int, column: int) -> Occurrence | None:
        """The occurrence under a 1-based (line, column), the character just before counting
        too (a cursor at the end of a word is on that word, as editors expect)."""
        i = bisect.bisect_right(self._starts, (line, column))
        for occ in self.occurrences[max(0, i - 2):i + 1]:
            s = occ.span
            if s.line == line and s.column <= column <= s.end_column:
                return occ
        return None

    def references(self, name: str, kind: Kind) -> list[Occurrence]:
        return [o for o in self.occurrences if o.name == name and o.kind == kind]

    def definition(self, name: str, kind: Kind) -> Occurrence | None:
        return next((o for o in self.occurrences
                     if o.definition and o.name == name and o.kind == kind), None)

    @property
    def variables(self) -> list[str]:
        return list(self.declarations)


def build_index(tree: SyntaxFile) -> Index:
    """The index of `tree`.

    >>> from causal_dsl.syntax import parse_syntax
    >>> ix = build_index(parse_syntax("var x: binary\\nvar y: count\\nx -> y\\n"
    ...                               "query q: ate(x -> y)\\n"))
    >>> [(o.name, o.span.line, o.definition) for o in ix.references("x", "variable")]
    [('x', 1, True), ('x', 3, False), ('x', 4, False)]
    >>> sorted(ix.children["x"]), ix.at(3, 6).name
    (['y'], 'y')
    >>> ix = build_index(parse_syntax("var t: binary\\nvar y: count\\nvar age: continuous\\n"
    ...     "var d: binary when age > 3 and unknown == 1\\n"
    ...     "query q: ate(t -> y) using ols(outcome = age + poly(age, 2) + t:age)\\n"))
    >>> [o.span.line for o in ix.references("age", "variable")]
    [3, 4, 5, 5, 5]
    """
    index = Index()
    occ = index.occurrences
    columns: list[tuple[str, Span]] = []  # data columns written as names: see the docstring

    def add(ident: Ident, kind: Kind = "variable", definition: bool = False) -> None:
        occ.append(Occurrence(ident.text, kind, ident.span, definition))

    for s in tree.statements:
        if isinstance(s, VarStmt | LatentStmt | SelectedStmt):
            add(s.name, definition=s.name.text not in index.declarations)
            index.declarations.setdefault(s.name.text, s)
            if isinstance(s, VarStmt) and s.derivation is not None:
                d = s.derivation
                if d.value is not None:
                    columns.extend(_value_names(d.value))
                if d.condition is not None:
                    columns.extend(_condition_names(d.condition))
        elif isinstance(s, ArrowStmt):
            for term in s.terms:
                for ident in term.names:
                    add(ident)
            for i, op in enumerate(s.ops):
                for a in s.terms[i].names:
                    for b in s.terms[i + 1].names:
                        _link(index, op, a.text, b.text)
        elif isinstance(s, QueryStmt):
            add(s.name, "query", definition=s.name.text not in index.queries)
            index.queries.setdefault(s.name.text, s)
            add(s.treatment)
            add(s.outcome)
            for ident in _clause_names(s, columns):
                add(ident)
        elif isinstance(s, LayoutStmt):
            add(s.name)
            index.layout.setdefault(s.name.text, s.written)
        elif isinstance(s, DataStmt):
            if s.weights is not None:
                columns.append((s.weights.column.text, s.weights.column.span))
            for option in s.panel or ():
                columns.extend(_value_names(option.value))
    read_columns = {name for name, d in index.declarations.items()
                    if isinstance(d, VarStmt) and d.column is None and d.derivation is None}
    occ.extend(Occurrence(name, "variable", span) for name, span in columns
               if name in read_columns)
    occ.sort(key=lambda o: (o.span.line, o.span.column))
    index._starts = [(o.span.line, o.span.column) for o in occ]
    return index


def _clause_names(s: QueryStmt, columns: list[tuple[str, Span]]) -> Iterator[Ident]:
    """The variables of a query's clauses; name-valued options go to `columns`."""
    for clause in s.clauses:
        if isinstance(clause, SetClause):
            yield from clause.names
        elif isinstance(clause, UsingClause):
            schema = METHOD_OPTIONS.get(clause.method.text.lower(), {})
            for option in clause.options or ():
                yield from _option_names(option, schema, columns)


def _option_names(option: Option, schema: dict[str, tuple[type | str, str]],
                  columns: list[tuple[str, Span]]) -> Iterator[Ident]:
    value = option.value
    if value.kind == "set":
        yield from value.value
    elif value.kind == "formula":
        yield from formula_names(value.value)
    elif value.kind == "name":
        expected = schema.get(option.key.text, ("name", ""))[0]
        if expected in _VARIABLE_VALUED:
            yield Ident(value.value, value.span)
        elif value.value not in ("true", "false"):
            columns.extend(_value_names(value))


def formula_names(node: FormulaNode) -> Iterator[Ident]:
    """The variables of a model formula, in order (a function's name is not one of them)."""
    if node.op == "name":
        first = node.args[0]
        assert isinstance(first, Ident)
        yield first
        return
    args = node.args[1:] if node.op == "call" else node.args
    for arg in args:
        if isinstance(arg, FormulaNode):
            yield from formula_names(arg)


def _condition_names(node: CondNode) -> Iterator[tuple[str, Span]]:
    for arg in node.args:
        if isinstance(arg, CondNode):
            yield from _condition_names(arg)
        else:
            yield from _value_names(arg)


def _value_names(value: Value) -> Iterator[tuple[str, Span]]:
    if value.kind == "name":
        yield value.value, value.span


def _link(index: Index, op: str, a: str, b: str) -> None:
    if op == "<->":
        index.confounded.setdefault(a, set()).add(b)
        index.confounded.setdefault(b, set()).add(a)
        return
    source, target = (b, a) if op == "<-" else (a, b)
    index.children.setdefault(source, set()).add(target)
    index.parents.setdefault(target, set()).add(source)
