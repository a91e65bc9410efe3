"""`causal fmt`: rewrite a `.causal` file into the one canonical layout.

In: source text (and its path, for messages). Out: the same study as formatted text, built from
the syntax tree (`causal_dsl.syntax.parse_syntax`), never from the resolved model, so a file with
semantic problems (an unknown name, a cycle) is still formatted and keeps those problems. Raises
`ParseError` (E1xx) when the text does not parse; then nothing is rewritten.

The canonical layout (documented in ``docs/review.md``):

* sections in a fixed order, one blank line between them: the file's leading comments, then
  ``study`` and ``data`` (in that order, together), declarations (``var`` and ``latent`` in the
  order written: people group them by meaning, and moving latents away would separate them from
  their neighbours' comments), arrows, queries;
* inside a section, statements keep their order, and a blank line the author put between two of
  them is kept (runs of blank lines become one);
* one space around every arrow and after every comma; a group of one name loses its braces;
  query clauses in the order ``adjusting``, ``adjust for``, ``never adjust for``, ``using``;
  names are backquoted exactly when they must be; strings are re-escaped;
* declaration labels are aligned in one column per paragraph (a run with no blank line), except
  for declarations too long to align, which put their label two spaces after them;
* every comment moves with its statement: the comment lines directly above a statement and the
  comment at the end of its line belong to it; a free-standing comment block (a blank line below
  it) travels with the next statement, blank line included; comments before the first statement
  that are not attached to it form the file's header; comments after the last one stay last.

`format_text` is idempotent and ``parse(format_text(x))`` is the same model as ``parse(x)``
(tested with hypothesis in ``tests/test_fmt.py``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .syntax import (
    ArrowStmt,
    CondNode,
    DataStmt,
    Derivation,
    FormulaNode,
    Ident,
    LatentStmt,
    LayoutStmt,
    Option,
    QueryStmt,
    SelectedStmt,
    SetClause,
    Statement,
    StudyStmt,
    SyntaxFile,
    Term,
    UsingClause,
    Value,
    VarStmt,
    parse_syntax,
)

# Heads (``var name: type ...``) longer than this do not push the label column to the right:
# one long categorical declaration should not indent every label in its paragraph.
MAX_ALIGN = 48

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
# Words the grammar treats as keywords somewhere; as names they are always backquoted, which
# is never wrong (the contextual lexer would accept some of them bare in some places only).
KEYWORDS = frozenset({
    "study", "data", "var", "latent", "query", "panel", "as", "invariant", "adjusting",
    "adjust", "for", "never", "using", "weights", "from", "when", "and", "or", "not",
    "selected", "layout",
})
_CLAUSE_ORDER = {"adjusting": 0, "adjust_for": 1, "never_adjust_for": 2}
# (section, rank in section): `study` and `data` share the first section, study first.
_SECTION = {
    StudyStmt: (0, 0), DataStmt: (0, 1), VarStmt: (1, 0), LatentStmt: (1, 0),
    SelectedStmt: (1, 0), ArrowStmt: (2, 0), QueryStmt: (3, 0), LayoutStmt: (4, 0),
}


def format_text(text: str, path: str | None = None) -> str:
    """Return `text` in the canonical layout; raise `ParseError` if it does not parse.

    >>> print(format_text('query q :ate( x->y )\\nvar y : continuous "Outcome"\\n'
    ...                   'var x: binary   "Exposure" # why\\nx->y\\nstudy  "S"\\n'), end="")
    study "S"
    <BLANKLINE>
    var y: continuous  "Outcome"
    var x: binary      "Exposure"  # why
    <BLANKLINE>
    x -> y
    <BLANKLINE>
    query q: ate(x -> y)
    """
    formatted = format_syntax(parse_syntax(text, path))
    # keep what the editor wrote: a byte-order mark, and CRLF line endings
    if "\r\n" in text:
        formatted = formatted.replace("\n", "\r\n")
    if text.startswith("\ufeff"):
        formatted = "\ufeff" + formatted
    return formatted


def check_text(text: str, path: str | None = None) -> str:
    """The unified diff that formatting would make ('' when `text` is already formatted)."""
    formatted = format_text(text, path)
    if formatted == text:
        return ""
    name = path or "<stdin>"
    return "".join(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            formatted.splitlines(keepends=True),
            fromfile=name,
            tofile=f"{name} (formatted)",
        )
    )


# --- layout ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Item:
    """One statement with everything that travels with it."""

    statement: Statement
    prefix: tuple[str, ...]  # comment lines above it; "" = a blank line between two blocks
    gap_before: bool  # a blank line separated it (and its prefix) from what came before
    trailing: str | None  # the comment at the end of its line


def format_syntax(tree: SyntaxFile) -> str:
    """Lay out an already parsed syntax tree (see the module docstring for the rules)."""
    header, items, footer = _attach_comments(tree)
    source_lines = tree.text.split("\n")
    sections: list[list[_Item]] = [[] for _ in range(5)]
    for item in sorted(items, key=lambda i: _SECTION[type(i.statement)]):  # stable
        sections[_SECTION[type(item.statement)][0]].append(item)

    out: list[str] = list(header)
    for number, section in enumerate(sections):
        if not section:
            continue
        if out:
            out.append("")
        heads = [_head(item.statement, source_lines) for item in section]
        labels = [_label(item.statement) for item in section]
        columns = _label_columns(section, heads, labels) if number == 1 else [0] * len(section)
        for i, item in enumerate(section):
            if i > 0 and item.gap_before:
                out.append("")
            out.extend(item.prefix)
            line, label = heads[i], labels[i]
            if label is not None:
                line = line + " " * max(2, columns[i] - len(line)) + quote_string(label)
            if item.trailing is not None:
                line = f"{line}  {item.trailing}"
            out.append(line)
    # Comments after the last statement stay last, after a blank line if they had one.
    out.extend(footer if out else footer[footer[:1] == [""] :])
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _attach_comments(
    tree: SyntaxFile,
) -> tuple[list[str], list[_Item], list[str]]:
    """Walk the file line by line, giving each comment to the statement it belongs to."""
    lines = tree.text.split("\n")
    # The end line, not the start: an empty `{}` or `()` gets a placeholder span at 1:1 from
    # the parser, which can drag a statement's start there (statements are one line anyway).
    statement_at = {s.span.end_line: s for s in tree.statements}
    comment_at = {c.span.line: c.text.rstrip() for c in tree.comments}
    pending: list[str] = []  # comment lines and "" for blank lines since the last statement
    items: list[_Item] = []
    seen_statement = False
    header: list[str] = []
    for number, raw in enumerate(lines, start=1):
        statement = statement_at.get(number)
        if statement is None:
            if number in comment_at:
                pending.append(comment_at[number])
            elif raw.strip() == "" and (not pending or pending[-1] != ""):
                pending.append("")
            continue
        gap = bool(pending) and pending[0] == ""
        prefix = pending[1:] if gap else pending[:]
        if not seen_statement:
            # Before the first statement: what is not directly attached to it is the header.
            gap = False
            if "" in prefix:
                cut = len(prefix) - 1 - prefix[::-1].index("")
                header = prefix[:cut]
                prefix = prefix[cut + 1 :]
        items.append(_Item(statement, tuple(prefix), gap, comment_at.get(number)))
        pending = []
        seen_statement = True
    return header, items, pending


def _label_columns(
    items: Sequence[_Item], heads: Sequence[str], labels: Sequence[str | None]
) -> list[int]:
    """The column each declaration's label starts at: aligned per paragraph."""
    columns = [0] * len(items)
    start = 0
    for end in range(1, len(items) + 1):
        at_break = end == len(items) or items[end].gap_before or "" in items[end].prefix
        if not at_break:
            continue
        widths = [
            len(heads[i])
            for i in range(start, end)
            if labels[i] is not None and len(heads[i]) <= MAX_ALIGN
        ]
        column = max(widths) + 2 if widths else 0
        for i in range(start, end):
            columns[i] = column
        start = end
    return columns


# --- printing one statement --------------------------------------------------------------------
def _head(statement: Statement, source: Sequence[str]) -> str:
    """The statement's text without its label (declarations) — the part labels align after."""
    if isinstance(statement, StudyStmt):
        return f"study {quote_string(statement.title)}"
    if isinstance(statement, DataStmt):
        text = f"data {quote_string(statement.source)}"
        if statement.engine is not None:  # duckdb("w.duckdb", table = "t"), spark(table = "t")
            e = statement.engine
            args = ([quote_string(e.path)] if e.path is not None else []) + (
                [_options(e.options, source)] if e.options else [])
            text = f"data {e.kind.text}({', '.join(args)})"
        if statement.panel is not None:
            text += f" panel({_options(statement.panel, source)})"
        if statement.weights is not None:
            w = statement.weights
            text += f" weights({', '.join([name_text(w.column), _options(w.options, source)])})" \
                if w.options else f" weights({name_text(w.column)})"
        return text
    if isinstance(statement, VarStmt):
        text = f"var {name_text(statement.name)}: {statement.type_name.text}"
        if statement.levels is not None:
            text += "(" + ", ".join(_value(v, source) for v in statement.levels) + ")"
        if statement.column is not None:
            text += f" as {quote_string(statement.column)}"
        if statement.derivation is not None:
            text += " " + _derivation(statement.derivation, source)
        return text
    if isinstance(statement, SelectedStmt):
        return f"selected {name_text(statement.name)}"
    if isinstance(statement, LayoutStmt):
        x, y = statement.written
        return f"layout {name_text(statement.name)} = ({x}, {y})"
    if isinstance(statement, LatentStmt):
        return f"latent {name_text(statement.name)}" + (
            " invariant" if statement.invariant else ""
        )
    if isinstance(statement, ArrowStmt):
        parts = [_term(statement.terms[0])]
        for op, term in zip(statement.ops, statement.terms[1:], strict=True):
            parts += [op, _term(term)]
        return " ".join(parts)
    if isinstance(statement, QueryStmt):
        return _query(statement, source)
    raise TypeError(f"not a statement: {statement!r}")  # pragma: no cover - exhaustive above


def _label(statement: Statement) -> str | None:
    if isinstance(statement, VarStmt | LatentStmt | SelectedStmt):
        return statement.label
    return None


def _query(q: QueryStmt, source: Sequence[str]) -> str:
    text = (
        f"query {name_text(q.name)}: {q.estimand.text}"
        f"({name_text(q.treatment)} -> {name_text(q.outcome)})"
    )
    # A stable sort: repeated clauses (an error the resolver reports) keep their order.
    clauses = sorted(
        q.clauses,
        key=lambda c: _CLAUSE_ORDER[c.kind] if isinstance(c, SetClause) else len(_CLAUSE_ORDER),
    )
    for clause in clauses:
        if isinstance(clause, SetClause):
            words = clause.kind.replace("_", " ")
            text += f" {words} {_nameset(clause.names)}"
        elif isinstance(clause, UsingClause):
            text += f" using {clause.method.text}"
            if clause.options:  # `using ols()` and `using ols` are the same method
                text += f"({_options(clause.options, source)})"
    return text


def _term(term: Term) -> str:
    if term.group and len(term.names) > 1:
        return _nameset(term.names)
    return name_text(term.names[0])


def _nameset(names: Sequence[Ident]) -> str:
    return "{" + ", ".join(name_text(n) for n in names) + "}"


def _options(options: Sequence[Option], source: Sequence[str]) -> str:
    return ", ".join(f"{o.key.text} = {_value(o.value, source)}" for o in options)


def _value(value: Value, source: Sequence[str]) -> str:
    if value.kind == "string":
        return quote_string(str(value.value))
    if value.kind == "number":
        # Numbers are kept as written (1e-3 stays 1e-3): the model sees the same value.
        span = value.span
        if span.line == span.end_line and 1 <= span.line <= len(source):
            written = source[span.line - 1][span.column - 1 : span.end_column - 1].strip()
            if written:
                return written
        return repr(value.value)
    if value.kind == "set":
        return _nameset(value.value)
    if value.kind == "formula":
        return _formula(value.value)
    if value.kind == "keyed":
        key, level = value.value
        return f"{key.text} = {_value(level, source)}"
    return quote_name(str(value.value))


def _formula(node: FormulaNode) -> str:
    """A model formula with one space around ``+`` and ``*`` and none around ``:`` and ``^``
    (R's style). Parentheses are kept as written and none are added: the grammar's precedence
    reads the result exactly as the original. Numbers are kept as written (`2`, not `2.0`)."""
    op, args = node.op, node.args
    if op == "name":
        return name_text(args[0])  # type: ignore[arg-type]
    if op == "number":
        return str(args[0])
    if op == "()":
        return "(" + _formula(args[0]) + ")"  # type: ignore[arg-type]
    if op == "call":
        fname, *rest = args
        return f"{fname.text}(" + ", ".join(_formula(a) for a in rest) + ")"  # type: ignore
    left, right = _formula(args[0]), _formula(args[1])  # type: ignore[arg-type]
    return f"{left} {op} {right}" if op in ("+", "*") else f"{left}{op}{right}"


def _derivation(d: Derivation, source: Sequence[str]) -> str:
    if d.condition is None:
        assert d.key is not None and d.value is not None
        return f"from {d.key.text} = {_value(d.value, source)}"
    return "when " + _condition(d.condition, source)


def _condition(node: CondNode, source: Sequence[str]) -> str:
    """A condition with one space around operators; parentheses kept as written, none added
    (the grammar's precedence reads the result exactly as the original)."""
    op, args = node.op, node.args
    if op == "()":
        return "(" + _condition(args[0], source) + ")"  # type: ignore[arg-type]
    if op == "not":
        return "not " + _condition(args[0], source)  # type: ignore[arg-type]
    if op in ("and", "or"):
        return f" {op} ".join(_condition(a, source) for a in args)  # type: ignore[arg-type]
    left, right = args
    return f"{_value(left, source)} {op} {_value(right, source)}"  # type: ignore[arg-type]


def name_text(ident: Ident) -> str:
    return quote_name(ident.text)


def quote_name(text: str) -> str:
    """A name as it must be written: backquoted when it is not a plain word or is a keyword."""
    if _PLAIN_NAME.fullmatch(text) and text not in KEYWORDS:
        return text
    return f"`{text}`"


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_string(value: str) -> str:
    r"""A string literal that the parser reads back as `value`.

    >>> print(quote_string('say "hi"\\there\n'))
    "say \"hi\"\\there\n"
    """
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif not ch.isprintable() and ord(ch) < 0x10000:
            # Control and separator characters would be invisible or break the line.
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


# --- files -------------------------------------------------------------------------------------
def read_source(path: str) -> str:
    """Read a `.causal` file as UTF-8 text (`causal_dsl.files.read_text`: E200 / E100)."""
    from .files import read_text

    return read_text(path)
