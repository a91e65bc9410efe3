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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from . import syntax_cache
from .errors import Diagnostic, ParseError, Span
from .syntax_errors import _diagnose, _lexical_error
from .syntax_terms import TermBuilder, _number, _span, _unquote_string
from .syntax_tree import (
    ArrowStmt,
    Comment,
    CondNode,
    DataStmt,
    Derivation,
    EngineSource,
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
    WeightsClause,
)

if TYPE_CHECKING:
    from lark import Lark, Token, UnexpectedToken

MAX_CACHED_SHAPES = 4096

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

    The lexer's tables and the shapes are also kept on disk (`causal_dsl.syntax_cache`): a file
    whose shapes have all been seen before is then parsed without importing Lark, which is
    built only for a new shape or a line that does not parse.
    """

    def __init__(self) -> None:
        self.text = grammar_path().read_text(encoding="utf-8")
        self._lark: Lark | None = None
        self.cache = syntax_cache.location(self.text)
        # the builder's rule methods: a template from the file may name only these
        rules = frozenset(n for n in dir(_ToSyntax) if not n.startswith("_")) - {"build"}
        tables = syntax_cache.load(self.cache, rules) if self.cache is not None else None
        self.dirty = tables is None  # something the file on disk lacks
        self.tables = tables if tables is not None else self._derive()
        self.keywords = self.tables.keywords
        self.ignored = self.tables.ignored
        self.blank_re = re.compile(f"(?:{self.tables.blank})?")
        self.token_re = re.compile(self.tables.token)
        self.shapes: dict[tuple[str, ...], Any] = {}

    @property
    def lark(self) -> Lark:
        if self._lark is None:
            from lark import Lark  # here: ~40 ms with what it imports, when a shape is new

            self._lark = Lark(self.text, parser="lalr", lexer="contextual",
                              maybe_placeholders=True, cache=True)
        return self._lark

    def _derive(self) -> syntax_cache.Tables:
        """The lexer's tables, from Lark's terminals."""
        terminals = self.lark.terminals
        name_re = next(t for t in terminals if t.name == "NAME").pattern.to_regexp()
        # Keywords are the string terminals that a NAME also matches ("data", "var", ...):
        # like Lark's contextual lexer, a word is a keyword only where the parser takes one.
        keywords: dict[str, str] = {
            t.pattern.value: t.name
            for t in terminals
            if t.pattern.type == "str" and re.fullmatch(name_re, t.pattern.value)
        }
        lexed = [t for t in terminals if t.pattern.value not in keywords]
        # Lark's own order for its basic lexer: priority, then longest possible match.
        lexed.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value),
                                  t.name))
        ignored = frozenset(self.lark.lexer_conf.ignore)
        # Blanks between tokens are matched in front of each token rather than as tokens of
        # their own: half as many matches, and blanks are never reported anyway.
        blanks = [t for t in lexed if t.name == "WS" and t.name in ignored]
        blank = blanks[0].pattern.to_regexp() if blanks else "(?!)"
        token = (f"(?:{blank})?(?:"
                 + "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in lexed
                            if t not in blanks)
                 + ")")
        return syntax_cache.Tables(keywords, ignored, blank, token, {})

    def persist(self) -> None:
        """Write the tables and shapes to the cache file when it lacks some of them."""
        if self.dirty and self.cache is not None:
            syntax_cache.save(self.cache, self.tables)
        self.dirty = False

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
            stored = self.tables.shapes.get(key)
            if stored is None:
                stored = self._parse_shape(toks)
                if len(self.tables.shapes) < syntax_cache.MAX_SHAPES:
                    self.tables.shapes[key] = stored
                    self.dirty = True
            cached = self.shapes[key] = (_compile(stored[0]), stored[1])
        build, types = cached
        if types is not None:
            toks = [
                t if k == t.type else _Tok(k, t.value, t.line, t.column, t.end_column)
                for t, k in zip(toks, types, strict=True)
            ]
        return build, toks

    def _parse_shape(self, toks: list[_Tok]) -> tuple[Any, tuple[str, ...] | None]:
        from lark import Tree

        interactive = self.lark.parse_interactive("")
        last = toks[-1]
        end_of_line = _Tok("_NL", "\n", last.line, last.end_column, last.end_column + 1)
        lark_tokens = self._feed(interactive, [*toks, end_of_line])
        tree = interactive.feed_eof()
        index = {id(t): i for i, t in enumerate(lark_tokens)}
        statement = tree.children[0] if tree.children else None
        types = tuple(t.type for t in lark_tokens[:-1])
        changed = types != tuple(t.type for t in toks)
        return _template(statement, index, Tree), (types if changed else None)

    def _feed(self, interactive: Any, toks: list[_Tok]) -> list[Token]:
        """Feed `toks` to the parser, telling keywords from names as the contextual lexer does.
        On a syntax error, attach a parser positioned just before the bad token so that the
        message can list exactly what the grammar takes there."""
        from lark import Token, UnexpectedToken

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


def _template(tree: Any, index: dict[int, int], tree_type: type[Any]) -> Any:
    """Lark's tree with each token replaced by its position in the line: (rule, children)."""
    if tree is None:
        return None
    if isinstance(tree, tree_type):
        return (str(tree.data), tuple(_template(c, index, tree_type) for c in tree.children))
    return index[id(tree)]


def _unexpected_token() -> type[UnexpectedToken]:
    """Lark's exception for a token the grammar does not take, for an ``except`` clause: its
    expression is evaluated only when an exception is raised, and only Lark raises one."""
    from lark import UnexpectedToken

    return UnexpectedToken


@functools.cache
def _grammar() -> _Grammar:
    return _Grammar()


def normalise_text(text: str) -> str:
    r"""The one line-ending rule of every reader: ``\r\n`` and a lone ``\r`` end a line, as in
    a text editor, and become ``\n``; a UTF-8 byte-order mark at the start is dropped. So
    ``parse(text)``, ``load(path)``, ``fmt`` and the language server see the same lines, and
    an arrow after a lone CR in a comment is an arrow, not part of the comment.

    >>> normalise_text("\ufeffvar x: binary\r\n# c\rx -> y\r")
    'var x: binary\n# c\nx -> y\n'
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def parse_syntax(text: str, path: str | None = None) -> SyntaxFile:
    """Parse `text` into a syntax tree, reporting every line that does not parse.

    >>> tree = parse_syntax('var x: binary "Exposed"  # note\\nx -> y\\n')
    >>> [type(s).__name__ for s in tree.statements], tree.comments[0].text
    (['VarStmt', 'ArrowStmt'], '# note')
    """
    tree, diagnostics = parse_recovering(text, path)
    if diagnostics:
        raise ParseError(diagnostics, {path: tree.text})
    return tree


def parse_recovering(text: str, path: str | None = None
                     ) -> tuple[SyntaxFile, list[Diagnostic]]:
    """The statements that parse, and one diagnostic per line that does not (sorted by
    position): the lines that parse can still be resolved (`causal_dsl.recover`).

    >>> tree, problems = parse_recovering("var x: binary\\nx -> -> y\\nvar y: count\\n")
    >>> [type(s).__name__ for s in tree.statements], [d.span.line for d in problems]
    (['VarStmt', 'VarStmt'], [2])
    """
    if not isinstance(text, str):
        raise TypeError("parse_syntax expects text (str)")
    text = normalise_text(text)
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
                except _unexpected_token() as error:
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
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
    grammar.persist()  # new shapes (or a first run) for the next process
    return SyntaxFile(path, text, tuple(statements), tuple(comments)), diagnostics


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
    except _unexpected_token() as error:
        diagnostics.append(_diagnose(error, source, path, toks))
        return
    if build is not None:
        first, last = toks[0], toks[-1]
        builder.line_span = Span(path, first.line, first.column, last.line, last.end_column)
        statements.append(build(builder, toks))


class _ToSyntax(TermBuilder):
    """Turns a line's template tree into the syntax dataclasses; one method per grammar rule,
    called with the rule's children as Lark's `Transformer` would. Spans come from the tokens.
    Levels, formulas and conditions are built by `TermBuilder` (`causal_dsl.syntax_terms`)."""

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


    def study(self, items: list[_Tok]) -> StudyStmt:
        (title,) = items
        return StudyStmt(_unquote_string(str(title)), self.line_span)

    def data(self, items: list[Any]) -> DataStmt:
        source, panel, weights = items
        engine = source if isinstance(source, EngineSource) else None
        if engine is not None:
            where = engine.path_span or engine.span
            text = engine.path or ""
        else:
            where, text = _span(source, self.path), _unquote_string(str(source))
        return DataStmt(text, panel[0] if panel is not None else None, self.line_span, where,
                        weights, engine)

    def engine(self, items: list[Any]) -> EngineSource:
        kind, *rest = items
        path = rest[0] if rest and isinstance(rest[0], _Tok) else None
        options = tuple(o for o in rest if isinstance(o, Option))
        ident = self._ident(kind)
        end = options[-1].span if options else (_span(path, self.path) if path else ident.span)
        return EngineSource(ident, _unquote_string(str(path)) if path is not None else None,
                            options, ident.span.cover(end),
                            _span(path, self.path) if path is not None else None)

    def weights(self, items: list[Any]) -> WeightsClause:
        column, *options = items
        ident = self._ident(column)
        opts = tuple(o for o in options if o is not None)
        span = ident.span.cover(opts[-1].span) if opts else ident.span
        return WeightsClause(ident, opts, span)

    def panel(self, items: list[Any]) -> tuple[tuple[Option, ...], Span]:
        options = tuple(o for o in items if o is not None)
        span = options[0].span.cover(options[-1].span) if options else self.line_span
        return options, span

    def var_decl(self, items: list[Any]) -> VarStmt:
        name, type_name, levels, alias, derivation, label = items
        ident = self._ident(name)
        span = self.line_span
        return VarStmt(
            name=ident,
            type_name=self._ident(type_name),
            levels=levels[0] if levels is not None else None,
            column=alias[0] if alias is not None else None,
            label=_unquote_string(str(label)) if label is not None else None,
            span=span,
            derivation=derivation,
        )

    def derived_from(self, items: list[Any]) -> Derivation:
        key, column = items
        ident, value = self._ident(key), self._value(column)
        return Derivation(ident, value, None, ident.span.cover(value.span))

    def derived_when(self, items: list[Any]) -> Derivation:
        (condition,) = items
        return Derivation(None, None, condition, condition.span)

    def selected_decl(self, items: list[Any]) -> SelectedStmt:
        name, label = items
        return SelectedStmt(self._ident(name),
                            _unquote_string(str(label)) if label is not None else None,
                            self.line_span)

    def layout(self, items: list[Any]) -> LayoutStmt:
        name, x, y = items
        return LayoutStmt(self._ident(name), float(x.value), float(y.value),
                          (str(x.value), str(y.value)), self.line_span)

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


__all__ = [
    "ArrowStmt", "Comment", "CondNode", "DataStmt", "Derivation", "EngineSource", "FormulaNode",
    "Ident",
    "LatentStmt", "LayoutStmt", "Option", "QueryStmt", "SelectedStmt", "SetClause", "Statement",
    "StudyStmt", "SyntaxFile", "Term", "UsingClause", "Value", "VarStmt", "WeightsClause",
    "_number", "_unquote_string", "grammar_path", "normalise_text", "parse_recovering",
    "parse_syntax",
]
