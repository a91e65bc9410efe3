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
    DataStmt,
    Ident,
    LatentStmt,
    Option,
    QueryStmt,
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
    "adjust", "for", "never", "using",
})
_CLAUSE_ORDER = {"adjusting": 0, "adjust_for": 1, "never_adjust_for": 2}
# (section, rank in section): `study` and `data` share the first section, study first.
_SECTION = {
    StudyStmt: (0, 0), DataStmt: (0, 1), VarStmt: (1, 0), LatentStmt: (1, 0), ArrowStmt: (2, 0),
    QueryStmt: (3, 0),
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
    return format_syntax(parse_syntax(text, path))


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
    sections: list[list[_Item]] = [[] for _ in range(4)]
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
        if statement.panel is not None:
            text += f" panel({_options(statement.panel, source)})"
        return text
    if isinstance(statement, VarStmt):
        text = f"var {name_text(statement.name)}: {statement.type_name.text}"
        if statement.levels is not None:
            text += "(" + ", ".join(_value(v, source) for v in statement.levels) + ")"
        if statement.column is not None:
            text += f" as {quote_string(statement.column)}"
        return text
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
    if isinstance(statement, VarStmt | LatentStmt):
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
    return quote_name(str(value.value))


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
    """Read a `.causal` file as UTF-8 text, or raise `ReviewError` (E700) saying why not."""
    from pathlib import Path

    from .errors import Diagnostic, ReviewError

    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file"
    except UnicodeDecodeError as error:
        problem = f"not UTF-8 text ({error.reason} at byte {error.start})"
    except OSError as error:
        problem = error.strerror or str(error)
    raise ReviewError(Diagnostic("E700", f"cannot read {path}: {problem}",
                                 help="check the path; .causal files are UTF-8 text"))
