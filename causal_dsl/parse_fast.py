"""Text → model in bulk for the common lines: the fast path of `causal_dsl.parse`.

In: source text, the path it came from, `check_files`. Out: the `Model` that the exact path
(`causal_dsl.syntax.parse_recovering` then `causal_dsl.resolve.resolve`) would build, or None
whenever that path would report anything at all (a line that does not parse, an unknown or
repeated name, a self-loop, arrows both ways, a cycle, even a warning). Raises nothing of its
own: the caller (`causal_dsl.recover.parse_model`) then runs the exact path from the start, so
every diagnostic, its code, message and position, comes from one place only.

Why it exists: a 100,000-variable study has ~360,000 lines, nearly all ``a -> b`` or
``var x: type``. Each line through the per-line parser costs tokens, a tree, syntax dataclasses
and then the resolver's checks, ~25 µs a line (9 s for the file). Here one regular expression
over the whole text recognises the simplest line shapes in C (`re.findall`, one match a line),
unindented, each with an optional trailing comment:

* an arrow of two or three plain names (``a -> b``, ``b <- a``, ``a <-> b``, ``a -> b -> c``),
* ``var name: type`` with an optional ``as "column"`` and an optional ``"label"``,
* ``latent name`` with an optional ``invariant`` and an optional ``"label"``,
* blank and comment-only lines;

and a second expression takes the other arrow lines made of plain names and ``{groups}`` of them
(indented ones too), one line at a time. Names that are keywords, `quoted names`, strings with a
backslash or a control character, and every other statement go to the grammar, which stays the
single source of truth for anything non-trivial: those lines are parsed by `causal_dsl.syntax`
(the other lines blanked, so that positions are unchanged) and resolved by the resolver's own
methods. The model's checks (known names, no self-loop, no repeated arrow, one direction per
pair, no cycle) are run on whole columns at once, as numpy arrays of integer ids (names found
by hash and confirmed by text; Kahn's algorithm one frontier at a time when the declaration
order is not already a causal order), and the cyclic garbage collector is off meanwhile.
numpy is imported on the first call, not with the module. tests/test_parse_fast.py compares
both paths on generated files, broken ones included, and each branch of the checks.
"""

from __future__ import annotations

import functools
import gc
import operator
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import fields
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any

from .errors import Span
from .model import Edge, Model, Variable, VarType
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
_BLANKS = " \t\f"


class _Ops(dict[str, str]):
    """Operator text with its blanks -> operator: the usual spellings are keys (found in C by
    `map`), any other is stripped."""

    def __missing__(self, key: str) -> str:
        return key.strip(_BLANKS)


_CODE = {"->": 0, "<-": 1, "<->": 2}
_OP_TEXT = _Ops({f"{a}{op}{b}": op for op in ("->", "<-", "<->") for a in ("", " ")
                 for b in ("", " ")})
_new = tuple.__new__


@functools.cache
def _patterns() -> tuple[Any, Any, Any]:
    """The line expression (all lines of a text), the arrow-line expression and its tokens."""
    keywords = "|".join(sorted(_grammar().keywords, key=len, reverse=True))
    # A name the lexer reads as NAME whatever the parser expects: not a keyword. Possessive,
    # as the lexer takes the longest name.
    name = rf"(?!(?:{keywords}){_NAME_END})[A-Za-z_][A-Za-z0-9_.]*+"
    # Few groups (each costs time on every line): an unindented line, one blank after `var`
    # and `latent`, so that columns follow from the lengths of the groups. An indented line
    # goes to the arrow-line expression or to the grammar.
    op = rf"{_B}(?:{_OP}){_B}"
    arrow = rf"({name})({op})({name})(?:({op})({name}))?"
    var = rf"var ({name}){_B}:{_B}({name})(?:{_B1}as{_B}({_STRING}))?(?:{_B}({_STRING}))?"
    latent = rf"latent ({name})(?:{_B1}(invariant){_NAME_END})?(?:{_B}({_STRING}))?"
    lines = re.compile(rf"^(?:(?:{arrow}|{var}|{latent})?{_B}(?:#[^\n]*)?|([^\n]+))$",
                       re.MULTILINE)
    group = rf"\{{{_B}{name}(?:{_B},{_B}{name})*+(?:{_B},)?{_B}\}}"
    term = rf"(?:{name}|{group})"
    arrow_line = re.compile(rf"{_B}({term}(?:{_B}(?:{_OP}){_B}{term})++){_B}(?:#[^\n]*)?")
    tokens = re.compile(rf"[A-Za-z_][A-Za-z0-9_.]*|{_OP}|[{{}},]")
    return lines, arrow_line, tokens


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
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _fast_model(text, path, check_files)
    finally:
        if collecting:
            gc.enable()


def _fast_model(text: str, path: str | None, check_files: bool) -> Model | None:
    """`fast_model` with the collector off."""
    text = normalise_text(text)
    line_re, arrow_line, tokens = _patterns()
    rows = line_re.findall(text)
    n_lines = text.count("\n") + 1
    if len(rows) != n_lines:  # one match a line, by construction; never trust it blindly
        return None
    # One column (a list) per group: `zip(*rows)` would walk 360,000 tuples for every output
    # element at once, which costs twice as much as a pass per column.
    (a_col, op1, b_col, op2, c_col, vname, vtype, valias, vlabel, lname, linv, llabel,
     rest) = [list(map(itemgetter(k), rows)) for k in range(13)]
    del rows

    # Arrow lines the first expression does not take: plain names and {groups}, one at a time.
    lines: dict[int, tuple[list[tuple[list[str], int, int]], list[str]]] = {}
    exact: list[int] = []
    for i in compress(range(n_lines), rest):
        m = arrow_line.fullmatch(rest[i])
        if m is None:
            exact.append(i)
        else:
            lines[i] = _line_terms(tokens, rest[i], m.start(1), m.end(1))
    declared = _bulk_variables(path, vname, vtype, valias, vlabel, lname, linv, llabel)
    if declared is None:
        return None
    # The lines left to the grammar, parsed in place: every other line blank.
    statements: Any = ()
    if exact:
        kept = [""] * n_lines
        for i in exact:
            kept[i] = rest[i]
        tree, problems = parse_recovering("\n".join(kept), path)
        if problems:
            return None
        statements = tree.statements
        for s in statements:
            if isinstance(s, ArrowStmt):
                lines[s.span.line - 1] = _statement_terms(s)
    edges = _arrows(path, a_col, op1, b_col, op2, c_col, lines)
    return _resolve(text, path, check_files, statements, declared, edges)


class _Edges:
    """The edges in the resolver's order, as columns: directed, then bidirected (each stored
    with source < target), both in line order, and within a line in the resolver's order."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self.targets: list[str] = []
        self.spans: list[Span] = []
        self.bi_sources: list[str] = []
        self.bi_targets: list[str] = []
        self.bi_spans: list[Span] = []


class _Pairs:
    """Written pairs as columns: left name, right name, operator, span, line."""

    def __init__(self) -> None:
        self.left: list[str] = []
        self.right: list[str] = []
        self.ops: list[str] = []
        self.spans: list[Span] = []
        self.lines: list[int] = []

    def add(self, op: str, x: str, y: str, span: Span) -> None:
        self.left.append(x)
        self.right.append(y)
        self.ops.append(op)
        self.spans.append(span)
        self.lines.append(span.line)

    def bulk(self, path: str | None, rows: list[int], first: int | list[int],
             left: Sequence[str], middle: Sequence[str], right: Sequence[str]) -> None:
        """One pair on each of `rows` (counting from 0), read from the columns with no Python
        code per row: the pair starts at column `first` (one for all, or one a row) and ends after
        the right name; `middle` is the operator with the blanks around it."""
        x = list(map(left.__getitem__, rows))
        op = list(map(middle.__getitem__, rows))
        y = list(map(right.__getitem__, rows))
        nums = list(map((1).__add__, rows))
        starts = first if isinstance(first, list) else [first] * len(rows)
        ends = list(map(sum, zip(starts, map(len, x), map(len, op), map(len, y), strict=True)))
        self.left += x
        self.right += y
        self.ops += map(_OP_TEXT.__getitem__, op)
        self.spans += map(_new, repeat(Span), zip(repeat(path), nums, starts, nums, ends))
        self.lines += nums


def _arrows(path: str | None, a_col: Sequence[str], op1: Sequence[str],
            b_col: Sequence[str], op2: Sequence[str], c_col: Sequence[str],
            lines: dict[int, tuple[list[tuple[list[str], int, int]], list[str]]]) -> _Edges:
    """Every arrow line's edges in line order, with the resolver's spans: the statement's for
    one arrow, each pair's (left term to right term) for a chain. The plain lines of two or
    three names (nearly all of a large file) are read from the columns in bulk; the others
    from `lines` (row -> terms), one at a time; then all are put in line order."""
    pairs = _Pairs()
    pairs.bulk(path, list(compress(range(len(a_col)), a_col)), 1, a_col, op1, b_col)
    chains = list(compress(range(len(c_col)), c_col))
    if chains:  # `a -> b -> c`: the second pair starts at b, after `a -> `
        first = [len(a_col[i]) + len(op1[i]) + 1 for i in chains]
        pairs.bulk(path, chains, first, b_col, op2, c_col)
    for i in sorted(lines):
        _pairs(i + 1, path, *lines[i], pairs.add)
    import numpy as np

    # Which pair goes where, as numpy index arrays: each column is then read once, in order.
    k = len(pairs.ops)
    code = np.fromiter(map(_CODE.__getitem__, pairs.ops), np.int8, k)
    order = np.arange(k)
    if chains or lines:  # in line order; a line's pairs keep their order (a stable sort)
        order = np.argsort(np.fromiter(pairs.lines, np.int64, k), kind="stable")
    both = code[order] == 2
    directed = order[~both]
    swap = (code[directed] == 1).tolist()  # `b <- a` is a -> b
    directed_rows = directed.tolist()
    x, y = pairs.left, pairs.right
    out = _Edges()
    left = list(map(x.__getitem__, directed_rows))
    right = list(map(y.__getitem__, directed_rows))
    # (x, y)[flag], in C
    out.sources = list(map(tuple.__getitem__, zip(left, right, strict=True), swap))
    out.targets = list(map(tuple.__getitem__, zip(right, left, strict=True), swap))
    out.spans = list(map(pairs.spans.__getitem__, directed_rows))
    if both.any():  # a bidirected edge is stored as (smaller, larger)
        bi_rows = order[both].tolist()
        left = list(map(x.__getitem__, bi_rows))
        right = list(map(y.__getitem__, bi_rows))
        smaller = list(map(operator.lt, left, right))
        out.bi_sources = list(map(tuple.__getitem__, zip(right, left, strict=True), smaller))
        out.bi_targets = list(map(tuple.__getitem__, zip(left, right, strict=True), smaller))
        out.bi_spans = list(map(pairs.spans.__getitem__, bi_rows))
    return out


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


def _bulk_variables(path: str | None, vname: Sequence[str], vtype: Sequence[str],
                    valias: Sequence[str], vlabel: Sequence[str], lname: Sequence[str],
                    linv: Sequence[str], llabel: Sequence[str]
                    ) -> tuple[list[tuple[int, str, Variable]], list[str]] | None:
    """(line, name, variable) of the plain `var` and `latent` lines in line order, and the
    data columns of the observed ones; None for an unknown type (E214, whose suggestion the
    exact path words)."""
    kinds: dict[str, VarType] = {}
    rows = list(compress(range(len(vname)), vname))
    for raw in set(map(vtype.__getitem__, rows)):
        kind = _TYPES.get(raw.lower())
        if kind is None:
            return None
        kinds[raw] = kind
    names = list(map(vname.__getitem__, rows))
    aliases = [s[1:-1] if s else None for s in map(valias.__getitem__, rows)]
    observed = _objects(Variable, len(rows), {
        "name": names,
        "type": map(kinds.__getitem__, map(vtype.__getitem__, rows)),
        "label": [s[1:-1] if s else None for s in map(vlabel.__getitem__, rows)],
        "column": aliases, "levels": repeat(()), "latent": repeat(False),
        "invariant": repeat(False), "span": _name_spans(path, rows, 5, names),
        "selected": repeat(False), "derived": repeat(None),
    })
    columns = [c or n for c, n in zip(aliases, names, strict=True)]  # `Variable.data_column`
    out = list(zip(map((1).__add__, rows), names, observed, strict=True))  # rows count from 0
    rows = list(compress(range(len(lname)), lname))
    if rows:
        names = list(map(lname.__getitem__, rows))
        hidden = _objects(Variable, len(rows), {
            "name": names, "type": repeat(None),
            "label": [s[1:-1] if s else None for s in map(llabel.__getitem__, rows)],
            "column": repeat(None), "levels": repeat(()), "latent": repeat(True),
            "invariant": map(bool, map(linv.__getitem__, rows)),
            "span": _name_spans(path, rows, 8, names),
            "selected": repeat(False), "derived": repeat(None),
        })
        out = sorted(chain(out, zip(map((1).__add__, rows), names, hidden, strict=True)),
                     key=itemgetter(0))
    return out, columns


def _name_spans(path: str | None, rows: list[int], col: int, names: list[str]) -> list[Span]:
    """The span of each declared name (`Variable.span`), which starts at column `col`."""
    lines = list(map((1).__add__, rows))
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
             declared: tuple[list[tuple[int, str, Variable]], list[str]], edges: _Edges
             ) -> Model | None:
    """The resolver's own methods on the grammar's statements, the bulk checks on the rest."""
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
    variables = dict(zip(names, made, strict=True))
    if len(variables) != len(rows):  # E202
        return None
    if len(set(columns)) != len(columns):  # E221
        return None
    resolver.variables = variables
    if not _edges_ok(variables, edges):
        return None
    queries = resolver._queries([s for s in statements if isinstance(s, QueryStmt)])
    layout = resolver._layout([s for s in statements if isinstance(s, LayoutStmt)])
    if resolver.sink.items:
        return None
    arrows = (_objects(Edge, len(edges.sources), {
        "source": edges.sources, "target": edges.targets, "bidirected": repeat(False),
        "span": edges.spans}) + _objects(Edge, len(edges.bi_sources), {
        "source": edges.bi_sources, "target": edges.bi_targets, "bidirected": repeat(True),
        "span": edges.bi_spans}))
    return Model(title=title, data=data, variables=tuple(variables.values()),
                 edges=tuple(arrows), queries=queries, path=path, source=text, layout=layout)


def _edges_ok(variables: dict[str, Variable], edges: _Edges) -> bool:
    """Known names (E201), no self-loop (E203), no arrow twice (E204), one direction per pair
    (E205) and no cycle (E206), checked on whole columns of integer ids with numpy.

    Why numpy: the checks on a 300,000-arrow file as Python sets cost more than the name
    lookups themselves; as sorted int64 codes (source * n + target) they take milliseconds.
    Imported here: the grammar's own path never needs it."""
    import numpy as np

    names = list(variables)
    n = len(names)
    if not edges.sources and not edges.bi_sources:
        return True
    ids = _ids(np, names, (edges.sources, edges.targets, edges.bi_sources, edges.bi_targets))
    for s, t, directed in ((ids[0], ids[1], True), (ids[2], ids[3], False)):
        m = len(s)
        if not m:
            continue
        if (s < 0).any() or (t < 0).any() or (s == t).any():
            return False
        codes = np.sort(s * n + t)
        if (codes[1:] == codes[:-1]).any():
            return False
        if not directed:
            continue
        down = s < t
        if down.all() or not down.any():
            # every arrow goes down (or every one up) the declaration order: a topological
            # order, so no cycle and no pair both ways (the usual way of writing a study)
            continue
        back = t[down] * n + s[down]  # of a pair written both ways, one arrow goes down
        at = np.minimum(np.searchsorted(codes, back), m - 1)
        if (codes[at] == back).any():
            return False
        if not _acyclic(np, n, s, t):
            return False
    return True


def _ids(np: Any, names: list[str], columns: tuple[list[str], ...]) -> list[Any]:
    """The position of each name of `columns` in `names` (distinct), -1 for a name not there.

    Why not a dict: 600,000 lookups in a 100,000-name dict miss the cache nearly every time
    (0.3 s). Here each name's `hash` is read in order and looked up among the sorted hashes
    of `names` (`searchsorted`); a match is then confirmed exactly, by length and by the text
    itself compared as fixed-width numpy strings (same length and same characters: the same
    string). Two names of `names` with one hash, or a very long name, take the dict."""
    n = len(names)
    if not n:
        return [np.full(len(c), -1, np.int64) for c in columns]
    hashes = np.fromiter(map(hash, names), np.int64, n)
    order = np.argsort(hashes)
    ordered = hashes[order]
    width = max(map(len, names))
    if (ordered[1:] == ordered[:-1]).any() or not 0 < width <= 32:
        index = dict(zip(names, range(n), strict=True))
        return [np.fromiter(map(index.get, c, repeat(-1)), np.int64, len(c)) for c in columns]
    kind = f"<U{width}"
    text = np.array(names, dtype=kind)
    lengths = np.fromiter(map(len, names), np.int64, n)
    out = []
    for column in columns:
        m = len(column)
        h = np.fromiter(map(hash, column), np.int64, m)
        at = order[np.minimum(np.searchsorted(ordered, h), n - 1)]
        same = hashes[at] == h
        same &= lengths[at] == np.fromiter(map(len, column), np.int64, m)
        same &= text[at] == np.array(column, dtype=kind)  # the first `width` characters
        out.append(np.where(same, at, -1))
    return out


def _acyclic(np: Any, n: int, sources: Any, targets: Any) -> bool:
    """Kahn's algorithm on integer ids, one frontier (every node with no parent left) at a
    time: each step is a few numpy operations on the frontier's children."""
    order = np.argsort(sources, kind="stable")
    children = targets[order]
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(sources, minlength=n), out=starts[1:])
    indegree = np.bincount(targets, minlength=n)
    frontier = np.flatnonzero(indegree == 0)
    taken = 0
    while frontier.size:
        taken += frontier.size
        first = starts[frontier]
        counts = starts[frontier + 1] - first
        total = int(counts.sum())
        if not total:
            break
        # the children of the frontier: the concatenated ranges first[i] .. first[i]+counts[i]
        offsets = np.repeat(first - (np.cumsum(counts) - counts), counts)
        kids, dropped = np.unique(children[offsets + np.arange(total)], return_counts=True)
        indegree[kids] -= dropped
        frontier = kids[indegree[kids] == 0]
    return taken == n


__all__ = ["fast_model"]
