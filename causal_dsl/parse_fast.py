"""Text → model in bulk for the common lines: the fast path of `causal_dsl.parse`.

In: source text, the path it came from, `check_files`. Out: the `Model` that the exact path
(`causal_dsl.syntax.parse_recovering` then `causal_dsl.resolve.resolve`) would build, or None
whenever that path would report anything at all (a line that does not parse, an unknown or
repeated name, a self-loop, arrows both ways, a cycle, even a warning). Raises nothing of its
own: the caller (`causal_dsl.recover.parse_model`) then runs the exact path from the start, so
every diagnostic, its code, message and position, comes from one place only.

Why it exists: a 100,000-variable study has ~360,000 lines, nearly all ``a -> b`` or
``var x: type``. Each line through the per-line parser costs tokens, a tree, syntax dataclasses
and then the resolver's checks, ~25 µs a line (9 s for the file). Here the lines are read in
three tiers, each taking what the one before left:

1. the bulk lanes: in an ASCII text, `causal_dsl.parse_columns.Quick` finds the commonest shapes
   written with single blanks (``a -> b``, ``a -> b -> c``, ``{a, b} -> c``, ``a -> {b, c}``,
   ``var x: type``) in the text's bytes with numpy, no string made for an arrow's names until
   they are looked up; then (and in any text) `causal_dsl.parse_columns.Lanes` sorts the same
   shapes and ``latent x`` among the other lines by ``str.split(" ")``, no expression at all;
2. one regular expression over the other lines joined (`re.findall`, one match a line), for
   the same shapes written otherwise, unindented, with an optional trailing comment: arrows of
   two or three plain names, ``var name: type`` with optional string levels (of a categorical
   or ordinal variable), ``as "column"`` and ``"label"``, ``latent name`` with optional
   ``invariant`` and ``"label"``; and a second expression for the other arrow lines of plain
   names and ``{groups}`` (indented ones too), one line at a time;
3. the grammar, for everything else: keywords, `quoted names`, strings with a backslash or a
   control character, binary levels, every other statement. Those lines are parsed by
   `causal_dsl.syntax` (the other lines blanked, so that positions are unchanged) and resolved
   by the resolver's own methods: it stays the single source of truth for the non-trivial.

A lane does not check its pieces: an arrow's names are looked up among the declared names (as
numpy string rows, `causal_dsl.parse_columns.Lookup`), the
declared names are checked in one pass (`plain_names`), and a piece that turns out not to be a
plain name (``{a,b} -> c`` split as three pieces, ``var `q`: binary``) makes the text be read
again without the lanes (`_Retry`). The model's checks (known names, no self-loop, no repeated
arrow, one direction per pair, no cycle) are run on whole columns at once, as numpy arrays of
integer ids (`causal_dsl.parse_columns.edges_ok`), and the cyclic garbage collector is off
meanwhile. numpy is imported on the first call, not with the module. tests/test_parse_fast.py
compares both paths on generated files, broken ones included, each lane and each branch of the
checks.
"""

from __future__ import annotations

import functools
import operator
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any

from . import collector
from .errors import Span
from .model import Edge, Model, Variable, VarType
from .parse_columns import CODE, Lanes, Lookup, Pairs, Quick, edges_ok, plain_names
from .resolve import _Resolver
from .syntax import (
    ArrowStmt,
    DataStmt,
    LayoutStmt,
    QueryStmt,
    StudyStmt,
    SyntaxFile,
    _grammar,
    normalise_text,
    parse_recovering,
)

_B = r"[ \t\f]*"  # the grammar's WS (after `normalise_text` there is no \r left)
_B1 = r"[ \t\f]+"
_NAME_END = r"(?![A-Za-z0-9_.])"
_OP = r"<->|->|<-"  # longest first, as the lexer orders them
# A string without escapes and without the control characters that E224 reports: its value
# is its text between the quotes, and the resolver's printability check has nothing to say.
_STRING = r'"[^"\\\x00-\x08\x0a-\x1f]*"'
_ARROW_OPS = frozenset(("->", "<-", "<->"))
_TYPES = {t.value: t for t in VarType}
_TYPE_WORDS = frozenset(_TYPES)
_TYPE_ORDER = tuple(_TYPES)
_WITH_LEVELS = frozenset((VarType.CATEGORICAL.value, VarType.ORDINAL.value))
_BLANKS = " \t\f"
_LEVEL = re.compile(_STRING)


class _Ops(dict[str, str]):
    """Operator text with its blanks -> operator: the usual spellings are keys (found in C by
    `map`), any other is stripped."""

    def __missing__(self, key: str) -> str:
        return key.strip(_BLANKS)


_OP_TEXT = _Ops({f"{a}{op}{b}": op for op in ("->", "<-", "<->") for a in ("", " ")
                 for b in ("", " ")})
_new = tuple.__new__


@functools.cache
def _patterns() -> tuple[Any, Any, Any, str]:
    """The line expression (all lines of a text), the arrow-line expression, its tokens, and
    the plain name (the grammar's NAME that is no keyword) as a pattern."""
    keywords = "|".join(sorted(_grammar().keywords, key=len, reverse=True))
    # A name the lexer reads as NAME whatever the parser expects: not a keyword. Possessive,
    # as the lexer takes the longest name.
    name = rf"(?!(?:{keywords}){_NAME_END})[A-Za-z_][A-Za-z0-9_.]*+"
    # Few groups (each costs time on every line): an unindented line, one blank after `var`
    # and `latent`, so that columns follow from the lengths of the groups. An indented line
    # goes to the arrow-line expression or to the grammar.
    op = rf"{_B}(?:{_OP}){_B}"
    arrow = rf"({name})({op})({name})(?:({op})({name}))?"
    levels = rf"(?:{_B}\(({_B}{_STRING}(?:{_B},{_B}{_STRING})*+{_B})\))?"  # strings only
    var = (rf"var ({name}){_B}:{_B}({name}){levels}(?:{_B1}as{_B}({_STRING}))?"
           rf"(?:{_B}({_STRING}))?")
    latent = rf"latent ({name})(?:{_B1}(invariant){_NAME_END})?(?:{_B}({_STRING}))?"
    lines = re.compile(rf"^(?:(?:{arrow}|{var}|{latent})?{_B}(?:#[^\n]*)?|([^\n]+))$",
                       re.MULTILINE)
    group = rf"\{{{_B}{name}(?:{_B},{_B}{name})*+(?:{_B},)?{_B}\}}"
    term = rf"(?:{name}|{group})"
    arrow_line = re.compile(rf"{_B}({term}(?:{_B}(?:{_OP}){_B}{term})++){_B}(?:#[^\n]*)?")
    tokens = re.compile(rf"[A-Za-z_][A-Za-z0-9_.]*|{_OP}|[{{}},]")
    return lines, arrow_line, tokens, name


class _Retry(Exception):
    """A bulk lane took a line it should not have (its pieces are not what the lane assumed):
    read the text again without the lanes."""


def fast_model(text: object, path: str | None = None, *, check_files: bool = True
               ) -> Model | None:
    """The model of `text` when it has no problem at all, else None (run the exact path).

    >>> m = fast_model("var x: binary\\nlatent u\\nx <- u\\n")
    >>> [v.name for v in m.variables], [str(e) for e in m.edges]
    (['x', 'u'], ['u -> x'])
    >>> fast_model("var x: binary\\nx -> y\\n") is None  # unknown 'y': the exact path says so
    True
    """
    if not isinstance(text, str):
        return None
    # Why: a large file makes millions of objects (row tuples, spans, variables, edges), with
    # no reference cycle among them; with the cyclic collector on, every few hundred thousand
    # allocations trigger a pass over all of them (40% of the time at 100,000 variables).
    # Reference counting still frees everything; the collector is back on before returning.
    with collector.paused():
        try:
            return _fast_model(text, path, check_files, lanes=True)
        except _Retry:  # e.g. `{a,b} -> c` or `var `q`: binary`: the expressions decide
            return _fast_model(text, path, check_files, lanes=False)


def _fast_model(text: str, path: str | None, check_files: bool, lanes: bool) -> Model | None:
    """`fast_model` with the collector off; `lanes`: take the commonest lines in bulk first
    (`causal_dsl.parse_columns.Lanes`), the others by the expressions, then the grammar."""
    text = normalise_text(text)
    line_re, arrow_line, tokens, name = _patterns()
    quick = None
    if lanes and text.isascii() and "\0" not in text:
        import numpy as np

        quick = Quick(np, text, _TYPE_ORDER)
    lines = text.split("\n") if quick is None else quick.lines(text)
    n_lines = len(lines)
    bulk = Lanes(lines, _TYPE_WORDS, quick.others if quick is not None else None) if lanes \
        else None
    at = bulk.rest if bulk is not None else list(range(n_lines))  # the line of each row
    rows = line_re.findall("\n".join(map(lines.__getitem__, at))) if at else []
    if len(rows) != len(at):  # one match a line, by construction; never trust it blindly
        return None
    # One column (a list) per group: `zip(*rows)` would walk 360,000 tuples for every output
    # element at once, which costs twice as much as a pass per column.
    (a_col, op1, b_col, op2, c_col, vname, vtype, vlevels, valias, vlabel, lname, linv,
     llabel, rest) = [list(map(itemgetter(k), rows)) for k in range(14)]
    del rows
    nums = list(map((1).__add__, at))  # the line number of each row

    # Arrow lines the first expression does not take: plain names and {groups}, one at a time.
    terms: dict[int, tuple[list[tuple[list[str], int, int]], list[str]]] = {}
    exact: list[int] = []
    for k in compress(range(len(at)), rest):
        m = arrow_line.fullmatch(rest[k])
        if m is None:
            exact.append(k)
        else:
            terms[at[k]] = _line_terms(tokens, rest[k], m.start(1), m.end(1))
    for k in compress(range(len(at)), vlevels):  # levels: of a categorical or ordinal only
        if vtype[k].lower() not in _WITH_LEVELS:  # binary levels: the resolver's own rules
            exact.append(k)
            rest[k], vname[k] = lines[at[k]], ""
    declared = _bulk_variables(path, nums, vname, vtype, vlevels, valias, vlabel, lname, linv,
                               llabel)
    if declared is None:
        return None
    if bulk is not None:
        if not plain_names(name, bulk.names() + (quick.var_names if quick else [])):
            raise _Retry
        declared = _lane_variables(path, bulk, declared, quick)
    # The lines left to the grammar, parsed in place: every other line blank.
    statements: Any = ()
    if exact:
        kept = [""] * n_lines
        for k in exact:
            kept[at[k]] = rest[k]
        tree, problems = parse_recovering("\n".join(kept), path)
        if problems:
            return None
        statements = tree.statements
        for s in statements:
            if isinstance(s, ArrowStmt):
                terms[s.span.line - 1] = _statement_terms(s)
    pairs = Pairs()
    if bulk is not None:
        pairs.add_lanes(path, bulk, lines)
    _rest_pairs(pairs, path, nums, list(compress(range(len(a_col)), a_col)), 1, a_col, op1,
                b_col)
    chains = list(compress(range(len(c_col)), c_col))
    if chains:  # `a -> b -> c`: the second pair starts at b, after `a -> `
        first = [len(a_col[i]) + len(op1[i]) + 1 for i in chains]
        _rest_pairs(pairs, path, nums, chains, first, b_col, op2, c_col)
    for i in sorted(terms):
        _pairs(i + 1, path, *terms[i], pairs.add)
    return _resolve(text, path, check_files, statements, declared, pairs, quick,
                    name if bulk is not None else None)


class _Edges:
    """The written pairs as the model stores them, in the order written: source, target (a
    bidirected edge from the smaller name), whether bidirected (a numpy array), the span; and
    `order`, the model's order of them (directed, then bidirected, each in line order)."""

    def __init__(self, sources: list[str], targets: list[str], both: Any, spans: list[Span],
                 order: list[int]) -> None:
        self.sources, self.targets, self.both = sources, targets, both
        self.spans, self.order = spans, order
        self.ids: tuple[Any, Any] = ((), ())  # of the names, as numpy arrays (-1: unknown)


def _rest_pairs(pairs: Pairs, path: str | None, nums: list[int], rows: list[int],
                first: int | list[int], left: Sequence[str], middle: Sequence[str],
                right: Sequence[str]) -> None:
    """One pair on each of `rows` of the expression's columns, with no Python code per row:
    the pair starts at column `first` (one for all, or one a row) and ends after the right
    name; `middle` is the operator with the blanks around it."""
    x = list(map(left.__getitem__, rows))
    op = list(map(middle.__getitem__, rows))
    y = list(map(right.__getitem__, rows))
    starts = first if isinstance(first, list) else [first] * len(rows)
    ends = list(map(sum, zip(starts, map(len, x), map(len, op), map(len, y), strict=True)))
    pairs.extend(path, list(map(nums.__getitem__, rows)), starts, ends,
                 list(map(_OP_TEXT.__getitem__, op)), x, y)


def _arrows(names: list[str], lookup: Lookup, pairs: Pairs, quick: Quick | None,
            path: str | None, text: str, excluded: list[int]) -> _Edges:
    """Every written pair (`quick`'s first, then `pairs`) in the direction the model stores
    it, with the names' ids, and the model's order of them: line order (a stable sort, so
    that a line's pairs keep the resolver's order), directed before bidirected. A name not
    found (or `excluded`) has the id -1."""
    import numpy as np

    code = np.fromiter(map(CODE.__getitem__, pairs.ops), np.int8, len(pairs.ops))
    lines = np.fromiter(pairs.lines, np.int64, len(pairs.lines))
    ids = [lookup.strings(pairs.left), lookup.strings(pairs.right)]
    sources, targets, swap = _stored(np, pairs.left, pairs.right, code)
    ids = [np.where(swap, ids[1], ids[0]), np.where(swap, ids[0], ids[1])]
    spans = pairs.spans
    if quick is not None and quick.line.size:
        found, quick_spans, quick_sources, quick_targets = _quick_pairs(lookup, quick, path,
                                                                        text)
        ids = [np.concatenate((found[k], ids[k])) for k in range(2)]
        code = np.concatenate((quick.code, code))
        lines = np.concatenate((quick.line, lines))
        spans = quick_spans + spans
        sources, targets = quick_sources + sources, quick_targets + targets
    if excluded:
        ids = [np.where(np.isin(i, np.asarray(excluded)), -1, i) for i in ids]
    order = np.arange(code.size)
    if (lines[1:] < lines[:-1]).any():
        order = np.argsort(lines, kind="stable")
    both = code == 2
    later = both[order]
    edges = _Edges(sources, targets, both, spans,
                   np.concatenate([order[~later], order[later]]).tolist())
    edges.ids = (ids[0], ids[1])
    return edges


def _stored(np: Any, left: list[str], right: list[str], code: Any
            ) -> tuple[list[str], list[str], Any]:
    """Sources and targets as the model stores them (`b <- a` is a -> b; a bidirected edge
    goes from the smaller name), and which pairs were turned."""
    swap = code == 1
    both = np.flatnonzero(code == 2).tolist()
    if both:
        swap[both] = np.fromiter(map(operator.lt, map(right.__getitem__, both),
                                     map(left.__getitem__, both)), bool, len(both))
    sources, targets = list(left), list(right)
    turned = np.flatnonzero(swap).tolist()  # usually few: set those rows in C, by `map`
    deque(map(sources.__setitem__, turned, map(right.__getitem__, turned)), maxlen=0)
    deque(map(targets.__setitem__, turned, map(left.__getitem__, turned)), maxlen=0)
    return sources, targets, swap


def _quick_pairs(lookup: Lookup, quick: Quick, path: str | None, text: str
                 ) -> tuple[list[Any], list[Span], list[str], list[str]]:
    """The ids of `quick`'s pairs' sources and targets (as `_stored` turns them; -1 for a
    piece that is no declared name), its pairs' spans and the sources and targets (a piece
    longer than every name cut after the longest, which keeps the character that shows it
    is not one: `_edges_checked` asks for a second reading then)."""
    import numpy as np

    # Why the pieces' own strings, made in C by `tolist`, and not the declared ones: fetching
    # a name by id touches 100,000 strings in random order (five times slower).
    if lookup.table is not None:
        left, right = (quick.column(np, side, lookup.width) for side in (False, True))
        found = [lookup.rows(left), lookup.rows(right)]
        # numpy orders strings by code points, as Python does (no NUL here: `Quick`)
        swap = (quick.code == 1) | ((quick.code == 2) & (right < left))
        sources = np.where(swap, right, left).tolist()
        targets = np.where(swap, left, right).tolist()
    else:
        left_names, right_names = quick.strings(text, False), quick.strings(text, True)
        found = [lookup.strings(left_names), lookup.strings(right_names)]
        sources, targets, swap = _stored(np, left_names, right_names, quick.code)
    found = [np.where(swap, found[1], found[0]), np.where(swap, found[0], found[1])]
    at = quick.line.tolist()
    spans = list(map(_new, repeat(Span), zip(
        repeat(path), at, quick.first.tolist(), at, quick.last.tolist())))
    return found, spans, sources, targets


def _line_terms(tokens: Any, line: str, start: int, end: int
                ) -> tuple[list[tuple[list[str], int, int]], list[str]]:
    """The terms (names, first column, end column) and operators of an arrow line that the
    arrow-line expression has accepted whole."""
    terms: list[tuple[list[str], int, int]] = []
    ops: list[str] = []
    group: list[str] | None = None
    opened = 0
    for t in tokens.finditer(line, start, end):
        value = t.group()
        if value == "{":
            group, opened = [], t.start() + 1
        elif value == "}":
            terms.append((group or [], opened, t.end() + 1))
            group = None
        elif value == ",":
            continue
        elif value in _ARROW_OPS:
            ops.append(value)
        elif group is not None:
            group.append(value)
        else:
            terms.append(([value], t.start() + 1, t.end() + 1))
    return terms, ops


def _pairs(line: int, path: str | None, terms: list[tuple[list[str], int, int]],
           ops: list[str], add: Any) -> None:
    """The edges of one arrow statement in the resolver's order (operator, left name, right
    name); a pair's span runs from its left term to its right term."""
    for i, op in enumerate(ops):
        left, first, _ = terms[i]
        right, _, last = terms[i + 1]
        span = _new(Span, (path, line, first, line, last))
        for x in left:
            for y in right:
                add(op, x, y, span)


def _statement_terms(s: ArrowStmt) -> tuple[list[tuple[list[str], int, int]], list[str]]:
    """A parsed arrow statement as `_pairs` reads it (the resolver's `_edges`)."""
    terms = [([i.text for i in t.names], t.span.column, t.span.end_column) for t in s.terms]
    if len(s.ops) == 1:  # the statement's span: from its first token to its last
        terms[0] = (terms[0][0], s.span.column, terms[0][2])
        terms[-1] = (terms[-1][0], terms[-1][1], s.span.end_column)
    return terms, list(s.ops)


_Declared = tuple[list[tuple[int, str, Variable]], list[str]]


def _bulk_variables(path: str | None, nums: list[int], vname: Sequence[str],
                    vtype: Sequence[str], vlevels: Sequence[str], valias: Sequence[str],
                    vlabel: Sequence[str],
                    lname: Sequence[str], linv: Sequence[str], llabel: Sequence[str]
                    ) -> _Declared | None:
    """(line, name, variable) of the `var` and `latent` lines the line expression took, in
    line order, and the data columns of the observed ones; None for an unknown type (E214,
    whose suggestion the exact path words) or a level listed twice (E215)."""
    kinds: dict[str, VarType] = {}
    rows = list(compress(range(len(vname)), vname))
    for raw in set(map(vtype.__getitem__, rows)):
        kind = _TYPES.get(raw.lower())
        if kind is None:
            return None
        kinds[raw] = kind
    names = list(map(vname.__getitem__, rows))
    aliases = [s[1:-1] if s else None for s in map(valias.__getitem__, rows)]
    lines = list(map(nums.__getitem__, rows))
    levels = [tuple(v[1:-1] for v in _LEVEL.findall(s)) if s else ()
              for s in map(vlevels.__getitem__, rows)]
    if any(len(set(v)) != len(v) for v in levels if v):
        return None
    observed = _variables(
        path, lines, names, map(kinds.__getitem__, map(vtype.__getitem__, rows)),
        [s[1:-1] if s else None for s in map(vlabel.__getitem__, rows)], aliases,
        latent=False, invariant=repeat(False), levels=levels)
    columns = [c or n for c, n in zip(aliases, names, strict=True)]  # `Variable.data_column`
    out = list(zip(lines, names, observed, strict=True))
    rows = list(compress(range(len(lname)), lname))
    if rows:
        names = list(map(lname.__getitem__, rows))
        lines = list(map(nums.__getitem__, rows))
        hidden = _variables(
            path, lines, names, repeat(None),
            [s[1:-1] if s else None for s in map(llabel.__getitem__, rows)], repeat(None),
            latent=True, invariant=map(bool, map(linv.__getitem__, rows)))
        out = sorted(chain(out, zip(lines, names, hidden, strict=True)), key=itemgetter(0))
    return out, columns


def _lane_variables(path: str | None, lanes: Lanes, declared: _Declared, quick: Quick | None
                    ) -> _Declared:
    """`declared` with the variables of the `var` and `latent` lanes (and `quick`'s `var`
    lines), all in line order."""
    rows, columns = declared
    names, lines, types = lanes.var_names, lanes.var_at, lanes.var_types
    if quick is not None and quick.var_at:
        if lines:  # both in line order: the sort merges two runs
            runs = sorted(chain(zip(lines, names, types, strict=True), zip(
                quick.var_at, quick.var_names, quick.var_types, strict=True)), key=itemgetter(0))
            lines, names, types = (list(map(itemgetter(k), runs)) for k in range(3))
        else:
            lines, names, types = quick.var_at, quick.var_names, quick.var_types
    observed = _variables(path, lines, names, map(_TYPES.__getitem__, types),
                          repeat(None), repeat(None), latent=False, invariant=repeat(False))
    found: list[Iterator[tuple[int, str, Variable]]] = [
        zip(lines, names, observed, strict=True)]
    if lanes.latents:
        hidden_names = list(map(itemgetter(1), lanes.latents))
        hidden_lines = lanes.latent_at
        hidden = _variables(path, hidden_lines, hidden_names, repeat(None), repeat(None),
                            repeat(None), latent=True, invariant=repeat(False))
        found.append(zip(hidden_lines, hidden_names, hidden, strict=True))
    if rows:
        found.append(iter(rows))
    merged = list(chain.from_iterable(found))
    if len(found) > 1:  # each part is in line order: the sort merges runs
        merged.sort(key=itemgetter(0))
    return merged, columns + names


def _variables(path: str | None, lines: list[int], names: list[str], types: Iterable[Any],
               labels: Iterable[str | None], columns: Iterable[str | None], *, latent: bool,
               invariant: Iterable[bool], levels: Iterable[tuple[str, ...]] = repeat(())
               ) -> list[Variable]:
    """Plain variables from columns; the name starts at column 5 (``var x``) or 8
    (``latent x``), one blank after the keyword."""
    return _objects(Variable, len(names), {
        "name": names, "type": types, "label": labels, "column": columns,
        "levels": levels, "latent": repeat(latent), "invariant": invariant,
        "span": _name_spans(path, lines, 8 if latent else 5, names),
        "selected": repeat(False), "derived": repeat(None),
    })


def _name_spans(path: str | None, lines: list[int], col: int, names: list[str]
                ) -> list[Span]:
    """The span of each declared name (`Variable.span`), which starts at column `col`."""
    ends = list(map((col).__add__, map(len, names)))
    return list(map(_new, repeat(Span), zip(repeat(path), lines, repeat(col), lines, ends)))


def _objects(cls: Any, n: int, columns: dict[str, Any]) -> list[Any]:
    """`n` instances of a frozen, slotted dataclass of the model from one column per field.

    Why: ``cls(...)`` runs the generated ``__init__``, one ``object.__setattr__`` per field from
    Python; writing each slot through its descriptor, column by column in C (`map`), builds
    the same objects in half the time, which matters for 300,000 edges. Every field is set
    (checked), and the model's classes have no ``__post_init__`` to skip.
    """
    assert list(columns) == [f.name for f in fields(cls)]
    assert not hasattr(cls, "__post_init__")
    made = list(map(object.__new__, repeat(cls, n)))
    for name, column in columns.items():
        deque(map(getattr(cls, name).__set__, made, column), maxlen=0)
    return made


def _resolve(text: str, path: str | None, check_files: bool, statements: Any,
             declared: _Declared, pairs: Pairs, quick: Quick | None, plain: str | None
             ) -> Model | None:
    """The resolver's own methods on the grammar's statements, the bulk checks on the rest.

    `plain` (the plain-name pattern) when the lanes took lines: their names were split at
    blanks, not read by an expression, so they may only be names of that pattern."""
    resolver = _Resolver(SyntaxFile(path, text, tuple(statements), ()), check_files)
    title = resolver._title([s for s in statements if isinstance(s, StudyStmt)])
    data = resolver._data([s for s in statements if isinstance(s, DataStmt)])
    exact = [(s.span.line, v.name, v) for s in statements
             if (v := resolver._declaration(s)) is not None]
    # The checks that read declarations, on the grammar's lines only: a bulk variable has a
    # plain name, no derivation, and strings without control characters.
    resolver.variables = {name: v for _, name, v in exact}
    resolver._check_derived(data)
    resolver._check_visible(title, next((s.span for s in statements
                                         if isinstance(s, StudyStmt)), None))
    rows, columns = declared
    if exact:
        rows = sorted(chain(rows, exact), key=itemgetter(0))
        columns = columns + [v.data_column for _, _, v in exact if not v.latent]
    names, made = list(map(itemgetter(1), rows)), list(map(itemgetter(2), rows))
    import numpy as np

    # Why no dict of the names unless a query or layout line reads it: the lookup's table
    # exists only when the names' hashes are distinct, so the names are too (E202 otherwise,
    # which its dict finds); a dict of 100,000 new strings costs their hashes and a miss each.
    lookup = Lookup(np, names, "\0" not in text)
    if lookup.index is not None and len(lookup.index) != len(rows):  # E202
        return None
    if len(set(columns)) != len(columns):  # E221
        return None
    edges = _edges_checked(text, path, names, lookup, pairs, quick, plain,
                           {name for _, name, _ in exact})
    if edges is None:
        return None
    asked = [s for s in statements if isinstance(s, QueryStmt)]
    placed = [s for s in statements if isinstance(s, LayoutStmt)]
    if asked or placed:
        resolver.variables = dict(zip(names, made, strict=True))
    queries = resolver._queries(asked)
    layout = resolver._layout(placed)
    if resolver.sink.items:
        return None
    arrows = _objects(Edge, len(edges.sources), {
        "source": edges.sources, "target": edges.targets, "bidirected": edges.both.tolist(),
        "span": edges.spans})
    return Model(title=title, data=data, variables=tuple(made),
                 edges=tuple(map(arrows.__getitem__, edges.order)), queries=queries, path=path,
                 source=text, layout=layout)


def _edges_checked(text: str, path: str | None, names: list[str], lookup: Lookup, pairs: Pairs,
                   quick: Quick | None, plain: str | None, parsed: set[str]) -> _Edges | None:
    """The edges (`_arrows`) when `causal_dsl.parse_columns.edges_ok` finds no problem, else
    None; a name unknown there is E201 when it is a plain name, else a lane's mistake
    (`_Retry`: e.g. ``{a,b} -> c`` split as three). `parsed`: the names the grammar declared
    (the others are plain: an expression read them)."""
    import numpy as np

    pattern = re.compile(plain) if plain is not None else None
    odd: set[str] = set()
    if pattern is not None:  # another shape of name never matches a lane's piece
        odd = {n for n in parsed if not pattern.fullmatch(n)}
    excluded = [i for i, n in enumerate(names) if n in odd] if odd else []
    edges = _arrows(names, lookup, pairs, quick, path, text, excluded)
    sources, targets = edges.ids
    if (sources < 0).any() or (targets < 0).any():
        if pattern is not None:
            unknown = set(chain(edges.sources, edges.targets)).difference(set(names) - odd)
            if not all(map(pattern.fullmatch, unknown)):
                raise _Retry
        return None
    return edges if edges_ok(np, len(names), sources, targets, edges.both) else None


__all__ = ["fast_model"]
