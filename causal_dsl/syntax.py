"""Text → syntax tree: the `.causal` grammar run through Lark's LALR parser.

In: source text (and the path it came from). Out: a `SyntaxFile`, a list of statements exactly as
written (names, strings, option values, each with its span) plus the comments, so that the
formatter can reprint a file without losing anything. Nothing is resolved or checked here; that is
`causal_dsl.build`'s job. Raises `ParseError` (codes E1xx) listing every statement that does not
parse: after an error the offending line is blanked and parsing starts again, so one run reports
all broken lines, not only the first.

The grammar lives in ``grammar/causal.lark`` (shipped inside the wheel as
``causal_dsl/grammar/causal.lark``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from lark import Lark, Token, Tree, UnexpectedToken

from .errors import Diagnostic, ParseError, Span, suggest
from .model import METHOD_OPTIONS

MAX_CACHED_SHAPES = 4096

# --- the syntax tree ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Ident:
    """A name as written; `text` has backquotes removed."""

    text: str
    span: Span = field(compare=False, repr=False)
    quoted: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Value:
    """An option value or a level: kind is "string", "number", "name" or "set"."""

    kind: str
    value: Any  # str, int, float, or tuple[Ident, ...] for a set
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


@dataclass(frozen=True, slots=True)
class VarStmt:
    name: Ident
    type_name: Ident
    levels: tuple[Value, ...] | None
    column: str | None
    label: str | None
    span: Span = field(compare=False, repr=False)


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


Statement = StudyStmt | DataStmt | VarStmt | LatentStmt | ArrowStmt | QueryStmt


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


# --- the parser --------------------------------------------------------------------------------
def grammar_path() -> Path:
    """Where the grammar is: inside the installed package, else at the repository root."""
    packaged = Path(__file__).with_name("grammar") / "causal.lark"
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parent.parent / "grammar" / "causal.lark"


# `_new(Span, (...))` builds a named tuple without the Python-level `__new__` that
# `Span(...)` runs: the parser builds hundreds of thousands of tokens and spans.
_new = tuple.__new__


class _Tok(NamedTuple):
    """A token of one line; cheaper than Lark's `Token`, which is built only to feed the parser."""

    type: str
    value: str
    line: int
    column: int
    end_column: int

    @property
    def end_line(self) -> int:
        return self.line

    def __str__(self) -> str:
        return self.value


class _Grammar:
    """The Lark LALR parser plus a lexer and a shape cache derived from the same grammar.

    Statements end at a newline and the start rule is a plain sequence of them, so a file
    parses exactly when each of its lines does, and LALR's answer for a line depends only on
    the sequence of terminal types. The first line of each shape (e.g. ``NAME ARROW NAME``) is
    run through Lark's parser; its tree, with tokens replaced by their positions, is cached and
    reused for every later line of the same shape. A 40,000-line study has a handful of shapes.
    """

    def __init__(self) -> None:
        self.lark = Lark(
            grammar_path().read_text(encoding="utf-8"),
            parser="lalr",
            lexer="contextual",
            maybe_placeholders=True,
            cache=True,
        )
        terminals = self.lark.terminals
        name_re = next(t for t in terminals if t.name == "NAME").pattern.to_regexp()
        # Keywords are the string terminals that a NAME also matches ("data", "var", ...):
        # like Lark's contextual lexer, a word is a keyword only where the parser takes one.
        self.keywords: dict[str, str] = {
            t.pattern.value: t.name
            for t in terminals
            if t.pattern.type == "str" and re.fullmatch(name_re, t.pattern.value)
        }
        lexed = [t for t in terminals if t.pattern.value not in self.keywords]
        # Lark's own order for its basic lexer: priority, then longest possible match.
        lexed.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value),
                                  t.name))
        self.ignored = frozenset(self.lark.lexer_conf.ignore)
        # Blanks between tokens are matched in front of each token rather than as tokens of
        # their own: half as many matches, and blanks are never reported anyway.
        blanks = [t for t in lexed if t.name == "WS" and t.name in self.ignored]
        blank = blanks[0].pattern.to_regexp() if blanks else "(?!)"
        self.blank_re = re.compile(f"(?:{blank})?")
        self.token_re = re.compile(
            f"(?:{blank})?(?:"
            + "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in lexed
                       if t not in blanks)
            + ")"
        )
        self.shapes: dict[tuple[str, ...], Any] = {}

    def parse_line(
        self, toks: list[_Tok], key: tuple[str, ...] | None = None
    ) -> tuple[Callable[[_ToSyntax, list[_Tok]], Any] | None, list[_Tok]]:
        """The builder of one line (compiled from its template), and the tokens with keywords
        told apart from names. `key` is the line's shape when the caller has it already."""
        if key is None:
            key = tuple(t.value if t.type == "NAME" and t.value in self.keywords else t.type
                        for t in toks)
        cached = self.shapes.get(key)
        if cached is None:
            if len(self.shapes) >= MAX_CACHED_SHAPES:  # a long-lived process fed varied text
                self.shapes.clear()
            template, types = self._parse_shape(toks)
            cached = self.shapes[key] = (_compile(template), types)
        build, types = cached
        if types is not None:
            toks = [
                t if k == t.type else _Tok(k, t.value, t.line, t.column, t.end_column)
                for t, k in zip(toks, types, strict=True)
            ]
        return build, toks

    def _parse_shape(self, toks: list[_Tok]) -> tuple[Any, tuple[str, ...] | None]:
        interactive = self.lark.parse_interactive("")
        last = toks[-1]
        end_of_line = _Tok("_NL", "\n", last.line, last.end_column, last.end_column + 1)
        lark_tokens = self._feed(interactive, [*toks, end_of_line])
        tree = interactive.feed_eof()
        index = {id(t): i for i, t in enumerate(lark_tokens)}
        statement = tree.children[0] if tree.children else None
        types = tuple(t.type for t in lark_tokens[:-1])
        changed = types != tuple(t.type for t in toks)
        return _template(statement, index), (types if changed else None)

    def _feed(self, interactive: Any, toks: list[_Tok]) -> list[Token]:
        """Feed `toks` to the parser, telling keywords from names as the contextual lexer does.
        On a syntax error, attach a parser positioned just before the bad token so that the
        message can list exactly what the grammar takes there."""
        fed: list[Token] = []
        for tok in toks:
            kind = tok.type
            if kind == "NAME" and tok.value in self.keywords:
                keyword = self.keywords[tok.value]
                if keyword in interactive.choices():
                    kind = keyword
            token = Token(kind, tok.value, 0, tok.line, tok.column, tok.line, tok.end_column)
            try:
                interactive.feed_token(token)
            except UnexpectedToken as error:
                before = self.lark.parse_interactive("")
                for previous in fed:
                    before.feed_token(previous)
                error.interactive_parser = before
                raise
            fed.append(token)
        return fed

    def expected_after(self, toks: list[_Tok]) -> set[str]:
        """Terminals the parser takes after `toks` (for the help of a lexical error); raises
        `UnexpectedToken` when the tokens before the bad character are already wrong."""
        interactive = self.lark.parse_interactive("")
        self._feed(interactive, toks)
        return set(interactive.accepts())


def _template(tree: Any, index: dict[int, int]) -> Any:
    """Lark's tree with each token replaced by its position in the line: (rule, children)."""
    if tree is None:
        return None
    if isinstance(tree, Tree):
        return (str(tree.data), tuple(_template(c, index) for c in tree.children))
    return index[id(tree)]


@functools.cache
def _grammar() -> _Grammar:
    return _Grammar()


def parse_syntax(text: str, path: str | None = None) -> SyntaxFile:
    """Parse `text` into a syntax tree, reporting every line that does not parse.

    >>> tree = parse_syntax('var x: binary "Exposed"  # note\\nx -> y\\n')
    >>> [type(s).__name__ for s in tree.statements], tree.comments[0].text
    (['VarStmt', 'ArrowStmt'], '# note')
    """
    if not isinstance(text, str):
        raise TypeError("parse_syntax expects text (str)")
    grammar = _grammar()
    builder = _ToSyntax(path)
    statements: list[Statement] = []
    comments: list[Comment] = []
    diagnostics: list[Diagnostic] = []
    line_toks: list[_Tok] = []
    line_key: list[str] = []  # the line's shape: token types, and keywords by their text
    line, line_start = 1, 0
    broken_line = 0  # a line with a lexical error is skipped whole
    ignored = grammar.ignored
    keywords = grammar.keywords
    source = text if text.endswith("\n") else text + "\n"
    position = 0
    end = len(source)
    match = grammar.token_re.match
    while position < end:
        m = match(source, position)
        if m is None:
            # Report the character that starts no token, not the blanks before it.
            position = grammar.blank_re.match(source, position).end()  # type: ignore[union-attr]
            if broken_line != line:
                try:
                    expected = grammar.expected_after(line_toks)
                except UnexpectedToken as error:
                    diagnostics.append(_diagnose(error, source, path, line_toks))
                else:
                    diagnostics.append(
                        _lexical_error(source, position, line, line_start, path, expected)
                    )
                broken_line = line
            line_toks = []
            line_key = []
            position = source.find("\n", position)
            continue
        kind = m.lastgroup or ""
        value = m.group(kind)
        column = m.start(kind) - line_start + 1  # blanks before the token are in the match
        position = m.end()
        if kind == "_NL":
            if line_toks and broken_line != line:
                _finish_line(grammar, builder, line_toks, line_key, statements, diagnostics,
                             source, path)
            line_toks = []
            line_key = []
            line += value.count("\n")
            line_start = source.rfind("\n", 0, position) + 1
        elif kind in ignored:
            if kind == "COMMENT":
                comments.append(Comment(value, Span(path, line, column, line,
                                                    column + len(value))))
        elif broken_line != line:
            line_toks.append(_new(_Tok, (kind, value, line, column, column + len(value))))
            line_key.append(value if kind == "NAME" and value in keywords else kind)
    if diagnostics:
        diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
        raise ParseError(diagnostics, {path: text})
    return SyntaxFile(path, text, tuple(statements), tuple(comments))


def _finish_line(
    grammar: _Grammar,
    builder: _ToSyntax,
    toks: list[_Tok],
    key: list[str],
    statements: list[Statement],
    diagnostics: list[Diagnostic],
    source: str,
    path: str | None,
) -> None:
    try:
        build, toks = grammar.parse_line(toks, tuple(key))
    except UnexpectedToken as error:
        diagnostics.append(_diagnose(error, source, path, toks))
        return
    if build is not None:
        first, last = toks[0], toks[-1]
        builder.line_span = Span(path, first.line, first.column, last.line, last.end_column)
        statements.append(build(builder, toks))


# --- Lark tree → syntax dataclasses --------------------------------------------------------------
def _span(token: _Tok, path: str | None) -> Span:
    # A _Tok is on one line and its positions are 1-based: no fallbacks needed.
    line = token.line
    return _new(Span, (path, line, token.column, line, token.end_column))


def _unquote_string(raw: str) -> str:
    """Decode a "..." literal: \\" \\\\ \\n \\t \\r \\uXXXX; any other escape is kept as written.

    >>> _unquote_string(r'"a \\"b\\" \\u00e9"')
    'a "b" é'
    """
    body = raw[1:-1]
    if "\\" not in body:  # the usual case: nothing to decode
        return body
    out: list[str] = []
    i = 0
    simple = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "u" and _is_hex(body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append(ch + nxt)
            i += 2
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 4 and all(c in "0123456789abcdefABCDEF" for c in s)


def _number(raw: str) -> int | float:
    try:
        return int(raw)
    except ValueError:
        return float(raw)


class _ToSyntax:
    """Turns a line's template tree into the dataclasses above; one method per grammar rule,
    called with the rule's children as Lark's `Transformer` would. Spans come from the tokens."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        # Every statement is one line: its span is that of the line's tokens (set per line).
        self.line_span = Span(path, 1, 1, 1, 1)

    def build(self, template: Any, toks: list[_Tok]) -> Any:
        if template is None:
            return None
        if isinstance(template, int):
            return toks[template]
        rule, children = template
        return getattr(self, rule)([self.build(c, toks) for c in children])


    def _ident(self, token: _Tok) -> Ident:
        line = token.line
        span = _new(Span, (self.path, line, token.column, line, token.end_column))
        if token.type == "QUOTED_NAME":
            return Ident(token.value[1:-1], span, True)
        return Ident(token.value, span, False)

    def _value(self, item: Any) -> Value:
        if isinstance(item, Value):
            return item
        span = _span(item, self.path)
        if item.type == "STRING":
            return Value("string", _unquote_string(str(item)), span)
        if item.type == "NUMBER":
            return Value("number", _number(str(item)), span)
        return Value("name", self._ident(item).text, span)

    def study(self, items: list[_Tok]) -> StudyStmt:
        (title,) = items
        return StudyStmt(_unquote_string(str(title)), self.line_span)

    def data(self, items: list[Any]) -> DataStmt:
        source, panel = items
        return DataStmt(
            _unquote_string(str(source)),
            panel[0] if panel is not None else None,
            self.line_span,
            _span(source, self.path),
        )

    def panel(self, items: list[Any]) -> tuple[tuple[Option, ...], Span]:
        options = tuple(o for o in items if o is not None)
        span = options[0].span.cover(options[-1].span) if options else self.line_span
        return options, span

    def var_decl(self, items: list[Any]) -> VarStmt:
        name, type_name, levels, alias, label = items
        ident = self._ident(name)
        span = self.line_span
        return VarStmt(
            name=ident,
            type_name=self._ident(type_name),
            levels=levels[0] if levels is not None else None,
            column=alias[0] if alias is not None else None,
            label=_unquote_string(str(label)) if label is not None else None,
            span=span,
        )

    def levels(self, items: list[Any]) -> tuple[tuple[Value, ...], Span]:
        values = tuple(self._value(i) for i in items if i is not None)
        span = values[0].span.cover(values[-1].span) if values else self.line_span
        return values, span

    def alias(self, items: list[_Tok]) -> tuple[str, Span]:
        (column,) = items
        return _unquote_string(str(column)), _span(column, self.path)

    def latent_decl(self, items: list[Any]) -> LatentStmt:
        name, invariant, label = items
        return LatentStmt(
            self._ident(name),
            invariant is not None,
            _unquote_string(str(label)) if label is not None else None,
            self.line_span,
        )

    def arrows(self, items: list[Any]) -> ArrowStmt:
        terms = tuple([self._term(i) for i in items[0::2]])
        ops = items[1::2]
        return ArrowStmt(
            terms,
            tuple([o.value for o in ops]),
            self.line_span,
            tuple([_span(o, self.path) for o in ops]),
        )

    def _term(self, item: Any) -> Term:
        if isinstance(item, Term):
            return item
        ident = self._ident(item)
        return Term((ident,), False, ident.span)

    def group(self, items: list[_Tok]) -> Term:
        open_brace, *members, close_brace = items
        names = tuple(self._ident(t) for t in members if t is not None)
        return Term(names, True, _span(open_brace, self.path).cover(_span(close_brace,
                                                                          self.path)))

    def query(self, items: list[Any]) -> QueryStmt:
        name, estimand, treatment, _arrow, outcome, *clauses = items
        return QueryStmt(
            self._ident(name),
            self._ident(estimand),
            self._ident(treatment),
            self._ident(outcome),
            tuple(clauses),
            self.line_span,
        )

    def nameset(self, items: list[Any]) -> Value:
        open_brace, *members, close_brace = items
        names = tuple(self._ident(t) for t in members if t is not None)
        span = _span(open_brace, self.path).cover(_span(close_brace, self.path))
        return Value("set", names, span)

    def _set_clause(self, kind: str, items: list[Any]) -> SetClause:
        (nameset,) = items
        return SetClause(kind, nameset.value, nameset.span)

    def adjusting(self, items: list[Any]) -> SetClause:
        return self._set_clause("adjusting", items)

    def adjust_for(self, items: list[Any]) -> SetClause:
        return self._set_clause("adjust_for", items)

    def never_adjust_for(self, items: list[Any]) -> SetClause:
        return self._set_clause("never_adjust_for", items)

    def using(self, items: list[Any]) -> UsingClause:
        method, options = items
        ident = self._ident(method)
        span = ident.span
        if options is not None and options:
            span = span.cover(options[-1].span)
        return UsingClause(ident, options, span)

    def options(self, items: list[Any]) -> tuple[Option, ...]:
        return tuple(o for o in items if o is not None)

    def option(self, items: list[Any]) -> Option:
        key, value = items
        ident = self._ident(key)
        val = self._value(value)
        return Option(ident, val, ident.span.cover(val.span))



def _compile(template: Any) -> Callable[[_ToSyntax, list[_Tok]], Any] | None:
    """The builder of one line shape as a closure: `_ToSyntax.build` without re-reading the
    template for every line (the rule method is looked up once, token indices are fixed)."""
    if template is None:
        return None
    rule, children = template
    method = getattr(_ToSyntax, rule)
    if all(isinstance(c, int) for c in children):
        indices = tuple(children)
        return lambda builder, toks: method(builder, [toks[i] for i in indices])
    parts = tuple(
        (c, None) if isinstance(c, int) or c is None else (None, _compile(c)) for c in children
    )

    def build(builder: _ToSyntax, toks: list[_Tok]) -> Any:
        return method(builder, [
            (toks[i] if i is not None else None) if sub is None else sub(builder, toks)
            for i, sub in parts
        ])

    return build


# --- syntax errors -------------------------------------------------------------------------------
_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": 'a "string"',
    "NUMBER": "a number",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "ARROW": "'->'",
    "BIARROW": "'<->'",
    "BACKARROW": "'<-'",
    "INVARIANT": "'invariant'",
    "COLON": "':'",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "EQUAL": "'='",
}
_KEYWORDS = ("study", "data", "var", "latent", "query", "panel", "as", "invariant", "adjusting",
             "adjust", "for", "never", "using")


def _describe_expected(expected: set[str]) -> str:
    words = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            words.append(_TERMINAL_WORDS[name])
        elif name.isupper() and name.lower() in _KEYWORDS:
            words.append(f"'{name.lower()}'")
        elif not name.startswith("__"):
            words.append(name.lower())
    words = sorted(set(words))
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe_token(token: Token) -> str:
    if token.type == "_NL":
        return "end of line"
    if token.type == "$END":
        return "end of file"
    return f"'{token}'"


def _lexical_error(
    text: str, position: int, line: int, line_start: int, path: str | None, expected: set[str]
) -> Diagnostic:
    """A character that starts no token: an unterminated string or name, or a stray symbol."""
    column = position - line_start + 1
    char = text[position]
    span = Span(path, line, column, line, column + 1)
    if char == '"':
        rest = text[position:].split("\n", 1)[0]
        return Diagnostic(
            "E102", "unterminated string", Span(path, line, column, line, column + len(rest)),
            help='close the string with " on the same line (write \\" for a quote inside it)',
        )
    if char == "`":
        return Diagnostic("E102", "unterminated quoted name", span,
                          help="close the name with a backquote ` on the same line")
    word = _word_at(text, position)
    if char == ";":
        help_text: str | None = "statements end at the end of a line; no ';' is needed"
    elif char == "'":
        help_text = 'strings are written in double quotes: "like this" (and names that are ' \
            "not plain words in backquotes: `like this`)"
    elif text.startswith("--", position):
        help_text = ("'--' (an undirected edge) is not in the language: every arrow of a DAG has "
                     "a direction; write a -> b or b -> a, or a <-> b for a hidden common cause")
    elif char in "→⟶⇒⇾←⟵⇐↔⟷⇔":
        help_text = "write arrows with plain characters: ->, <- or <->"
    elif char == "-" and word != "-":
        help_text = f"a name cannot contain '-': use '_' or write the name in backquotes: `{word}`"
    else:
        words = _describe_expected(expected)
        help_text = f"expected {words}" if words else None
    return Diagnostic("E101", f"unexpected character {char!r}", span, help=help_text)


_STATEMENT_KEYWORDS = ("study", "data", "var", "latent", "query")
_ARROWS = ("ARROW", "BIARROW", "BACKARROW")


def _diagnose(
    error: UnexpectedToken, text: str, path: str | None, line_toks: Sequence[_Tok] = ()
) -> Diagnostic:
    """Turn Lark's exception for a token the grammar does not take here into a diagnostic.

    `line_toks` are the tokens of the line, to recognise the usual mistakes: a misspelt or
    capitalised statement keyword, a statement continued on the next line, a keyword used as a
    name, a name that starts with a digit, a bare word where a "string" belongs.
    """
    token = error.token
    line = token.line or 1
    column = token.column or 1
    width = max(1, len(str(token))) if token.type != "_NL" else 1
    span = Span(path, line, column, line, column + width)
    accepted = _accepted(error)
    expected = _describe_expected(accepted)
    previous = _previous_token(error)
    first = line_toks[0] if line_toks else None
    # `opener` is the previous token when it opens the line (`data -> x`, `Var x: binary`).
    opener = previous if (
        previous is not None and first is not None
        and (previous.line, previous.column) == (first.line, first.column)
    ) else None
    help_text: str | None = None
    message = f"unexpected {_describe_token(token)}"
    if opener is not None and str(opener) in _KEYWORDS and token.type in _ARROWS:
        help_text = (
            f"'{opener}' is a keyword; to use it as a variable name, write it in "
            f"backquotes: `{opener}`"
        )
        span = _token_span(opener, path)
    elif token.type == "NAME" and str(token) in _KEYWORDS:
        help_text = f"'{token}' is a keyword here; write `{token}` to use it as a name"
    elif token.type in _ARROWS and first is not None and token.column == first.column:
        help_text = ("a statement ends at the end of its line and cannot continue on the next "
                     "one; repeat the name the arrow starts from on this line")
    elif (opener is not None and opener.type == "NAME" and token.type not in _ARROWS
          and (close := suggest(str(opener).lower(), _STATEMENT_KEYWORDS))):
        message = f"unknown statement '{opener}'"
        help_text = (f"{close} (a statement starts with study, data, var, latent or query, or "
                     "is an arrow such as a -> b)")
        span = _token_span(opener, path)
    elif token.type == "NUMBER" and ({"NAME", "QUOTED_NAME"} & accepted):
        help_text = (f"a name cannot start with a digit; write it in backquotes: "
                     f"`{_word_from(token, line_toks)}`")
    elif token.type == "COLON" and first is not None and first.value == "latent":
        help_text = ("a latent variable has no type (it is not in the data): write "
                     "latent <name> [\"label\"], or declare it with var if the data has it")
    elif accepted == {"STRING"} and token.type in ("NAME", "QUOTED_NAME", "NUMBER"):
        help_text = f'expected a "string": write "{str(token).strip("`")}"'
    elif (previous is not None and str(previous) == "using"
          and token.type in ("_NL", "LPAR")):
        help_text = "expected a method name: " + ", ".join(METHOD_OPTIONS)
    elif expected:
        help_text = f"expected {expected}"
    return Diagnostic("E104", message, span, help=help_text)


def _token_span(token: Token, path: str | None) -> Span:
    line, column = token.line or 1, token.column or 1
    return Span(path, line, column, line, column + len(str(token)))


def _word_at(text: str, position: int) -> str:
    """The run of name-like characters and '-' around `position` (``x-y``), for a hint."""
    start = position
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
        start -= 1
    end = position + 1
    while end < len(text) and (text[end].isalnum() or text[end] in "_.-"):
        end += 1
    return text[start:end]


def _word_from(token: Token, line_toks: Sequence[_Tok]) -> str:
    """`token` joined with the tokens that touch it (``2x`` is lexed as 2 and x), for a hint."""
    word = str(token)
    for tok in line_toks:
        if tok.line != token.line or tok.column < (token.column or 0) + len(str(token)):
            continue
        if tok.column != (token.column or 0) + len(word) or tok.type not in ("NAME", "NUMBER"):
            break
        word += tok.value
    return word


def _accepted(error: UnexpectedToken) -> set[str]:
    """The terminals the parser would take here (more exact than the lexer's own list)."""
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except Exception:  # a hint is not worth a crash: fall back to Lark's list
            pass
    return set(error.expected)


def _previous_token(error: UnexpectedToken) -> Token | None:
    state = getattr(error, "state", None)
    stack = getattr(state, "value_stack", None) if state is not None else None
    if stack:
        last = stack[-1]
        if isinstance(last, Token):
            return last
    return None
