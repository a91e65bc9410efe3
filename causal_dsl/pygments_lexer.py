"""A Pygments lexer for `.causal` files, so that Sphinx, MkDocs and Jupyter highlight `causal`
code blocks.

In: text. Out: Pygments tokens. Raises nothing: text the language would reject is still
tokenised (as `Error` only for characters no rule knows), because a highlighter shows code, it
does not check it. Registered under the entry point group ``pygments.lexers`` (see
pyproject.toml), so ``pygments.lexers.get_lexer_by_name("causal")`` finds it once the package is
installed; imports only Pygments.

The rules mirror the TextMate grammar in ``editors/vscode/syntaxes/causal.tmLanguage.json``:
the statement word at the start of a line picks a state, and each state knows where that
statement takes its keywords (``data``: ``panel``, ``weights``, an engine such as ``duckdb(``;
``var``: levels, ``as``, ``from first_treated = COLUMN``, ``when`` and a condition with ``and``,
``or``, ``not`` and comparisons; ``query``: the clauses, and a method's options, whose values may
be model formulas with ``+ * : ^`` and the functions `FORMULA_FUNCTIONS`; ``layout``: two
numbers). Anywhere else a keyword is a name, as in the language (``var for: binary``).
`KEYWORDS` is kept equal to the Lark grammar's keywords, and `FORMULA_FUNCTIONS` to
`causal_dsl.terms.FUNCTIONS`, by ``tests/test_highlighting.py``.

>>> from pygments import lex
>>> for token, text in lex("var x: binary when year >= 2011", CausalLexer()):
...     if text.strip():
...         print(token, text)
Token.Keyword.Declaration var
Token.Name.Variable x
Token.Punctuation :
Token.Keyword.Type binary
Token.Keyword when
Token.Name year
Token.Operator >=
Token.Literal.Number 2011
"""

from __future__ import annotations

from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups, default, include
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

__all__ = ["FORMULA_FUNCTIONS", "KEYWORDS", "CausalLexer"]

KEYWORDS = ("adjust", "adjusting", "and", "as", "data", "for", "from", "invariant", "latent",
            "layout", "never", "not", "or", "panel", "query", "selected", "study", "using",
            "var", "weights", "when")
# The functions of a model formula (`causal_dsl.terms.FUNCTIONS`; not imported: this module
# loads with Pygments alone).
FORMULA_FUNCTIONS = ("poly", "ns", "spline", "C", "I")

_NAME = r"(?:[A-Za-z_][A-Za-z0-9_.]*|`[^`\n]+`)"
_WORD = r"[A-Za-z_][A-Za-z0-9_.]*"
_END = r"(?![A-Za-z0-9_.`])"  # a keyword is a whole word: `study.x` is a name
_CMP = r"==|!=|<=|>=|<|>"
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_S = r"[\t \f\r]*"


def _kw(*words: str) -> str:
    return "(" + "|".join(words) + ")" + _END


class CausalLexer(RegexLexer):
    """The `.causal` study language (causal-dsl)."""

    name = "Causal"
    aliases: ClassVar[list[str]] = ["causal", "causal-dsl"]
    filenames: ClassVar[list[str]] = ["*.causal"]
    mimetypes: ClassVar[list[str]] = ["text/x-causal"]
    url = "https://github.com/causal-dsl/causal-dsl"

    tokens: ClassVar[dict[str, list]] = {  # type: ignore[type-arg]
        "root": [
            (r"\n", Whitespace),
            (r"[\t \f\r]+", Whitespace),
            include("comment"),
            (_kw("study"), Keyword.Declaration, "plain"),
            (_kw("data"), Keyword.Declaration, ("data", "data-source")),
            (rf"{_kw('var')}(?:({_S})({_NAME})(?:({_S})(:)({_S})({_WORD})?)?)?",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable, Whitespace, Punctuation,
                      Whitespace, Keyword.Type), ("var", "levels")),
            (rf"{_kw('latent')}(?:({_S})({_NAME})(?:({_S})(invariant){_END})?)?",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable, Whitespace, Keyword),
             "plain"),
            (rf"{_kw('selected')}(?:({_S})({_NAME}))?",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable), "plain"),
            (rf"{_kw('layout')}(?:({_S})({_NAME}))?",
             bygroups(Keyword.Declaration, Whitespace, Name.Variable), "layout"),
            (rf"{_kw('query')}(?:({_S})({_NAME})(?:({_S})(:)({_S})({_WORD})?)?)?",
             bygroups(Keyword.Declaration, Whitespace, Name.Function, Whitespace, Punctuation,
                      Whitespace, Name.Builtin), ("query", "question")),
            default("arrows"),
        ],
        "comment": [
            (r"#[^\n]*", Comment.Single),
        ],
        "space": [  # every state: blanks, a comment, and the end of the line ends the statement
            (r"[\t \f\r]+", Whitespace),
            include("comment"),
            (r"(?=\n)", Whitespace, "#pop"),
        ],
        "string": [
            (r'"(\\[^\n]|[^"\\\n])*"?', String.Double),
        ],
        "number": [
            (_NUMBER, Number),
        ],
        "name": [
            (r"`[^`\n]+`", Name.Variable),
            (_WORD, Name),
        ],
        "option": [
            (rf"({_NAME})({_S})(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
        ],
        "fallback": [  # what a state does not expect (a line being typed): still its token
            include("string"),
            (r"<->|->|<-", Operator),
            include("number"),
            (r"[{}(),:=+*^]", Punctuation),
            include("name"),
        ],
        "braces": [
            (r"\{", Punctuation, "set"),
        ],
        "set": [
            include("space"),
            (r"\}", Punctuation, "#pop"),
            (r",", Punctuation),
            include("name"),
            include("fallback"),
        ],
        "plain": [  # study, latent, selected: strings only (title, label)
            (r"\n", Whitespace, "#pop"),
            include("space"),
            include("string"),
            include("fallback"),
        ],
        "arrows": [
            (r"\n", Whitespace, "#pop"),
            include("space"),
            (r"<->|->|<-", Operator),
            include("braces"),
            (r"[,]", Punctuation),
            include("name"),
            include("fallback"),
        ],
        "arguments": [  # panel(...), weights(...), an engine's and a binary's (...)
            include("space"),
            (r"\)", Punctuation, "#pop"),
            include("string"),
            include("option"),
            (r"(true|false)" + _END, Keyword.Constant),
            include("number"),
            include("braces"),
            (r",", Punctuation),
            include("name"),
            include("fallback"),
        ],
        # data "f.csv" | data duckdb("w.duckdb", table = "t"), then panel(...) weights(...)
        "data-source": [
            (r"[\t \f\r]+", Whitespace),
            (rf"({_WORD})({_S})(\()", bygroups(Name.Builtin, Whitespace, Punctuation),
             ("#pop", "arguments")),
            default("#pop"),
        ],
        "data": [
            (r"\n", Whitespace, "#pop"),
            include("space"),
            include("string"),
            (rf"(panel){_END}({_S})(\()", bygroups(Keyword, Whitespace, Punctuation),
             "arguments"),
            (rf"(weights){_END}({_S})(\()({_S})({_NAME})?",
             bygroups(Keyword, Whitespace, Punctuation, Whitespace, Name), "arguments"),
            (_kw("panel", "weights"), Keyword),
            include("fallback"),
        ],
        # var NAME: TYPE [(levels)] [as "col"] [from first_treated = col | when ...] ["label"]
        "levels": [
            (rf"({_S})(\()", bygroups(Whitespace, Punctuation), ("#pop", "arguments")),
            default("#pop"),
        ],
        "var": [
            (r"\n", Whitespace, "#pop"),
            include("space"),
            include("string"),
            (_kw("as"), Keyword),
            (rf"(from){_END}(?:({_S})({_WORD})(?:({_S})(=)(?:({_S})({_NAME}))?)?)?",
             bygroups(Keyword, Whitespace, Name.Constant, Whitespace, Operator, Whitespace,
                      Name)),
            (_kw("when"), Keyword, "condition"),
            include("fallback"),
        ],
        "condition": [
            include("space"),
            include("string"),
            (r"<->|->|<-", Operator),  # not a comparison: `x <-1` is an arrow, as Lark reads it
            # and, or: keywords, unless a column being compared (`and == 1`, `x == and`)
            (rf"(and|or){_END}(?!{_S}(?:{_CMP}))", Operator.Word),
            (rf"(not){_END}", Operator.Word),
            (rf"({_CMP})({_S})({_NAME})?", bygroups(Operator, Whitespace, Name)),
            include("number"),
            (r"[()]", Punctuation),
            include("name"),
            include("fallback"),
        ],
        "layout": [
            (r"\n", Whitespace, "#pop"),
            include("space"),
            (r"=", Operator),
            (r"[(),]", Punctuation),
            (_NUMBER, Number.Float),
            include("fallback"),
        ],
        # query NAME: ESTIMAND(t -> y) clauses...
        "question": [
            (rf"({_S})(\()", bygroups(Whitespace, Punctuation), ("#pop", "question-inside")),
            default("#pop"),
        ],
        "question-inside": [
            include("space"),
            (r"\)", Punctuation, "#pop"),
            (r"<->|->|<-", Operator),
            include("name"),
            include("fallback"),
        ],
        "query": [
            (r"\n", Whitespace, "#pop"),
            include("space"),
            (rf"(using){_END}({_S})({_WORD})({_S})(\()",
             bygroups(Keyword, Whitespace, Name.Function, Whitespace, Punctuation), "method"),
            (rf"(using){_END}(?:({_S})({_WORD}))?", bygroups(Keyword, Whitespace,
                                                             Name.Function)),
            (rf"(never){_END}(?:({_S})(adjust){_END}(?:({_S})(for){_END})?)?",
             bygroups(Keyword, Whitespace, Keyword, Whitespace, Keyword)),
            (rf"(adjust){_END}(?:({_S})(for){_END})?", bygroups(Keyword, Whitespace, Keyword)),
            (_kw("adjusting"), Keyword),
            include("braces"),
            include("fallback"),
        ],
        "method": [  # a method's options; a value may be a model formula
            include("space"),
            (r"\)", Punctuation, "#pop"),
            include("string"),
            include("option"),
            (r"(true|false)" + _END, Keyword.Constant),
            include("number"),
            include("braces"),
            (rf"({'|'.join(FORMULA_FUNCTIONS)}){_END}({_S})(\()",
             bygroups(Name.Builtin, Whitespace, Punctuation), "method"),
            (r"\(", Punctuation, "method"),
            (r"[+*:^]", Operator),
            (r",", Punctuation),
            include("name"),
            include("fallback"),
        ],
    }
