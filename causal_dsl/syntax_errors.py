"""Syntax errors: turn Lark's failures on one line into diagnostics people can act on.

In: the token (or character) where a line stopped parsing, the line's tokens and the source.
Out: one `Diagnostic` (E101 a character that starts no token, E102 an unterminated string or
quoted name, E104 a token the grammar does not take there) with a span, a plain "expected ..."
and a fix where one is likely ("did you mean 'query'?"). Used by `causal_dsl.syntax` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import Diagnostic, Span, suggest
from .model import METHOD_OPTIONS

if TYPE_CHECKING:
    from lark import Token, UnexpectedToken

    from .syntax import _Tok


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
    "PLUS": "'+'",
    "STAR": "'*'",
    "CIRCUMFLEX": "'^'",
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
    elif (first is not None and first.value == "data" and previous is not None
          and len(line_toks) >= 2 and line_toks[1].type == "NAME"
          and (previous.line, previous.column) == (line_toks[1].line, line_toks[1].column)
          and token.type == "_NL"):
        # `data heart_drug.csv`: a bare path reads as the start of an engine call `name(...)`
        bare = "".join(t.value for t in line_toks[1:])
        message = f"unexpected '{bare}'"
        span = Span(path, line, line_toks[1].column, line, line_toks[-1].end_column)
        help_text = f'expected a "string": write "{bare}"'
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
    from lark import Token  # here: Lark is imported only when a line does not parse

    state = getattr(error, "state", None)
    stack = getattr(state, "value_stack", None) if state is not None else None
    if stack:
        last = stack[-1]
        if isinstance(last, Token):
            return last
    return None
