"""Syntax highlighting: the TextMate grammar (run by VS Code's own engine, vscode-textmate with
vscode-oniguruma, under node) and the Pygments lexer tokenise every example and every test file
without an unclosed region or an unscoped character, mark a character invalid only where the
language has no token for it, know exactly the Lark grammar's keywords and formula functions,
and scope each construct by its context (a keyword only where the parser takes one)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from lark import Lark, Token
from lark.exceptions import LarkError

import causal_dsl
from causal_dsl.errors import CausalError
from causal_dsl.syntax import parse_syntax
from causal_dsl.terms import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "causal.tmLanguage.json"
CHECK_SRC = ROOT / "editors" / "textmate-check"
LARK = ROOT / "grammar" / "causal.lark"
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))
TEST_FILES = sorted((ROOT / "tests").glob("**/*.causal"))

# Every construct of the language on one line each, every keyword included.
CORPUS = """\
# causal: disable-file=L101  (a pragma)
study "All \\"constructs\\""
data "d.csv" panel(unit = store, time = period) weights(popwt, kind = "analytic")
var x: binary "X"  # trailing comment
var `odd name`: categorical("a", "b", 3) as "col" "Label"
var n: ordinal(low, high)
var sex: binary("F", "M")
var arm: binary(control = "c", treated = "t")
var age: continuous
var inc: continuous
var adopted: binary from first_treated = first_year "Adopted"
var ca: binary when year >= 2011.5 and state == "CA" or not (year < -1 or year != 3)
latent u invariant "U"
latent w
selected s "In the study"
{x, n} -> `odd name` <- w
x <-> n -> u
{age, inc, sex} -> {x, n}
x -> s
query q: att(x -> n) adjusting {age, inc} adjust for {age} never adjust for {arm} \
using matching(k = 1, caliper = 0.2, replace = true, exact = {x}, se = "bootstrap")
query r: ate(x -> n) using ols(se = HC1)
query f: att(x -> n) using matching(score = age + age:sex + inc^2 + ns(age, 3) + C(sex) \
+ I(age^2*inc) + (age + inc):sex)
query o: ate(x -> n) using ols(outcome = poly(age, 2) * sex + spline(inc, 4))
layout x = (0.1, -0.5)
"""
# Keywords written where the parser takes them as names: none of them may look like a keyword.
AS_NAMES = """\
data "d.csv" panel(unit = state, time = year) weights(weights, kind = "survey")
var for: binary
var and: binary
var when: binary when when == 1 and and != 2 or 3 > and
var from: binary from first_treated = from
var weights: continuous
var never: continuous
var adjust: continuous
var layout: continuous
var not: continuous
selected selected
{never, adjust, layout, not} -> {for, and}
and -> for <- when
for -> selected
query using: ate(for -> and) adjusting {never, adjust} using ols(outcome = never + adjust)
layout layout = (1, 2)
"""
ENGINE = 'data duckdb("warehouse.duckdb", table = "visits")  # a DuckDB table\n'
NOT_KEYWORDS = {"for", "and", "when", "not", "from", "weights", "selected", "using", "never",
                "adjust", "layout"}


def lark_keywords() -> set[str]:
    """The words the Lark grammar writes as inline literals: its keywords."""
    text = re.sub(r"//[^\n]*", "", LARK.read_text(encoding="utf-8"))
    return {w for w in re.findall(r'"([^"\\]+)"', text) if re.fullmatch(r"[A-Za-z_]\w*", w)}


def test_lark_keywords_are_found():
    assert {"study", "var", "query", "never", "invariant"} <= lark_keywords()


def test_textmate_keyword_list_matches_the_lark_grammar():
    rule = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]["keywords"]["match"]
    listed = set(re.fullmatch(r"\\b\(\?:([a-z|]+)\)\\b", rule).group(1).split("|"))
    assert listed == lark_keywords()


def test_pygments_keyword_list_matches_the_lark_grammar():
    from causal_dsl.pygments_lexer import KEYWORDS

    assert set(KEYWORDS) == lark_keywords()


# --- the TextMate grammar under VS Code's engine ------------------------------------------------
def textmate_install_dir() -> Path:
    given = os.environ.get("CAUSAL_TEXTMATE_DIR")
    return Path(given) if given else Path.home() / ".cache" / "causal-dsl" / "textmate"


@pytest.fixture(scope="session")
def textmate_dir() -> Path:
    """vscode-textmate and vscode-oniguruma from the committed lock file, in
    ``$CAUSAL_TEXTMATE_DIR`` or ``~/.cache/causal-dsl/textmate`` (``.ci/run`` fills it; with
    ``CAUSAL_TEXTMATE_INSTALL=1`` the test runs ``npm ci`` itself)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    where = textmate_install_dir()
    lock = (CHECK_SRC / "package-lock.json").read_bytes()
    installed = where / "package-lock.json"
    fresh = (where / "node_modules" / "vscode-textmate").is_dir() and installed.is_file() \
        and installed.read_bytes() == lock
    if not fresh:
        npm = shutil.which("npm")
        if os.environ.get("CAUSAL_TEXTMATE_INSTALL") != "1" or npm is None:
            pytest.skip(f"vscode-textmate not installed in {where}: run `npm ci` there with "
                        f"{CHECK_SRC}/package*.json, or set CAUSAL_TEXTMATE_INSTALL=1")
        where.mkdir(parents=True, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(CHECK_SRC / f, where / f)
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                              cwd=where, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            pytest.skip(f"npm ci failed (offline?): {proc.stderr[-300:]}")
    shutil.copy(CHECK_SRC / "tokenize.mjs", where / "tokenize.mjs")
    return where


def _texts() -> dict[str, str]:
    out = {}
    for path in EXAMPLES + TEST_FILES:
        try:
            out[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # tests/errors/E100_not_utf8.causal: no text to highlight
            continue
    return out | {"corpus": CORPUS, "as_names": AS_NAMES, "engine": ENGINE}


TEXTS = _texts()


def parses(name: str) -> bool:
    """Whether the text is valid syntax (then no character of it may be marked invalid)."""
    try:
        parse_syntax(TEXTS[name])
    except CausalError:
        return False
    return True


# What an invalid mark may cover: one character that starts no token (E101: `;`, `'`, `→`, a
# lone `-`, `!` or `>`, the backquote of an unterminated quoted name).
NO_TOKEN = re.compile(r"[^A-Za-z0-9_\s\"{}(),:=+*^.]")


def test_corpus_and_keywords_as_names_are_valid_studies():
    for text in (CORPUS, AS_NAMES, ENGINE):
        causal_dsl.parse(text)


@functools.cache
def lark_parser() -> Lark:
    return Lark(LARK.read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                keep_all_tokens=True)


def parser_keywords(name: str) -> set[tuple[int, int]] | None:
    """Where Lark's own contextual lexer reads a keyword in the text: (line, column), 1-based;
    None when the file does not parse as a whole (an error example)."""
    text = TEXTS[name].replace("\r\n", "\n")
    try:
        tree = lark_parser().parse(text if text.endswith("\n") else text + "\n")
    except LarkError:
        return None
    words = lark_keywords()
    return {(t.line, t.column) for t in tree.scan_values(lambda v: isinstance(v, Token))
            if t.type != "NAME" and t.value in words}


# The texts Lark parses as a whole (all but the error examples), and the number of them.
WHOLE = [name for name in TEXTS if parser_keywords(name) is not None]


def test_most_texts_are_whole_studies():
    assert {"corpus", "as_names", "engine"} <= set(WHOLE) and len(WHOLE) > 60


@pytest.fixture(scope="session")
def tokenised(textmate_dir: Path) -> dict[str, list[dict]]:
    """One node process tokenises every text (loading the engine takes most of the time)."""
    proc = subprocess.run(["node", "tokenize.mjs"], cwd=textmate_dir, capture_output=True,
                          text=True, timeout=120,
                          input=json.dumps({"grammar": str(GRAMMAR),
                                            "texts": list(TEXTS.values())}))
    assert proc.returncode == 0, proc.stderr
    return dict(zip(TEXTS, json.loads(proc.stdout), strict=True))


@pytest.mark.parametrize("name", list(TEXTS))
def test_textmate_closes_every_region_and_scopes_every_character(tokenised, name):
    lines = TEXTS[name].split("\n")
    valid = parses(name)
    for number, (line, result) in enumerate(zip(lines, tokenised[name], strict=True), 1):
        assert result["open"] == 0, f"{name}:{number}: region left open: {line!r}"
        for start, end, scopes in result["tokens"]:
            piece = line[start:end]
            if piece.strip():
                assert not scopes[-1].startswith(("source.", "meta.")), \
                    f"{name}:{number}: {piece!r} has no scope of its own ({scopes})"
            if scopes[-1].startswith("invalid."):
                assert not valid, f"{name}:{number}: {piece!r} marked invalid in valid text"
                assert NO_TOKEN.fullmatch(piece), f"{name}:{number}: {piece!r} is a token"


def textmate_tokens(tokenised, name: str) -> list[tuple[int, int, str, str]]:
    """(line, column, text, innermost scope) of every token, 1-based."""
    return [(number, start + 1, line[start:end], scopes[-1])
            for number, (line, result) in enumerate(
                zip(TEXTS[name].split("\n"), tokenised[name], strict=True), 1)
            for start, end, scopes in result["tokens"]]


def textmate_keywords(tokenised, name: str) -> set[tuple[int, int]]:
    return {(line, column) for line, column, piece, scope in textmate_tokens(tokenised, name)
            if scope.startswith("keyword.") and "pragma" not in scope
            and re.fullmatch(r"[a-z]+", piece)}


def test_textmate_scopes_exactly_the_keywords_as_keywords(tokenised):
    found = {piece for _, _, piece, scope in textmate_tokens(tokenised, "corpus")
             if scope.startswith("keyword.") and "pragma" not in scope}
    assert {w for w in found if re.fullmatch(r"[a-z]+", w)} == lark_keywords()


@pytest.mark.parametrize("name", WHOLE)
def test_textmate_keywords_are_where_the_parser_reads_keywords(tokenised, name):
    expected = parser_keywords(name)
    assert expected is not None
    assert textmate_keywords(tokenised, name) == expected


def test_textmate_keywords_written_as_names_are_names(tokenised):
    names = {piece for _, _, piece, scope in textmate_tokens(tokenised, "as_names")
             if scope.startswith(("variable.", "entity.name."))}
    assert names >= NOT_KEYWORDS


def scope_of(tokenised, name: str, line_start: str, piece: str, nth: int = 0) -> str:
    """The scope of the `nth` token `piece` on the line of `name` that starts with
    `line_start`."""
    [number] = [i for i, line in enumerate(TEXTS[name].split("\n"), 1)
                if line.startswith(line_start)]
    found = [scope for line, _, text, scope in textmate_tokens(tokenised, name)
             if line == number and text == piece]
    return found[nth]


@pytest.mark.parametrize(("line", "piece", "nth", "scope"), [
    ("var x:", "binary", 0, "support.type.causal"),
    ("query q:", "att", 0, "support.function.estimand.causal"),
    ("query q:", "matching", 0, "entity.name.function.method.causal"),
    ("query q:", "caliper", 0, "variable.parameter.option.causal"),
    ("query q:", "true", 0, "constant.language.boolean.causal"),
    ("var `odd", "`odd name`", 0, "entity.name.variable.declaration.causal"),
    ("x <->", "<->", 0, "keyword.operator.arrow.causal"),
    # weights(COLUMN, kind = "...")
    ("data", "weights", 0, "keyword.other.weights.causal"),
    ("data", "popwt", 0, "variable.other.column.causal"),
    ("data", "kind", 0, "variable.parameter.option.causal"),
    # coded binaries
    ("var arm", "control", 0, "variable.parameter.option.causal"),
    # derived treatments
    ("var adopted", "from", 0, "keyword.other.from.causal"),
    ("var adopted", "first_treated", 0, "support.constant.derivation.causal"),
    ("var adopted", "first_year", 0, "variable.other.column.causal"),
    ("var ca", "when", 0, "keyword.other.when.causal"),
    ("var ca", "year", 0, "variable.other.column.causal"),
    ("var ca", ">=", 0, "keyword.operator.comparison.causal"),
    ("var ca", "2011.5", 0, "constant.numeric.causal"),
    ("var ca", "==", 0, "keyword.operator.comparison.causal"),
    ("var ca", "and", 0, "keyword.operator.logical.causal"),
    ("var ca", "not", 0, "keyword.operator.logical.causal"),
    ("var ca", "<", 0, "keyword.operator.comparison.causal"),
    ("var ca", "-1", 0, "constant.numeric.causal"),
    ("var ca", "!=", 0, "keyword.operator.comparison.causal"),
    # selection nodes and layout
    ("selected", "selected", 0, "keyword.control.selected.causal"),
    ("selected", "s", 0, "entity.name.variable.declaration.selected.causal"),
    ("layout", "layout", 0, "keyword.control.layout.causal"),
    ("layout", "0.1", 0, "constant.numeric.causal"),
    ("layout", "-0.5", 0, "constant.numeric.causal"),
    # model formulas
    ("query f:", "score", 0, "variable.parameter.option.causal"),
    ("query f:", "+", 0, "keyword.operator.formula.causal"),
    ("query f:", ":", 1, "keyword.operator.formula.causal"),  # the first is `query f:`
    ("query f:", "^", 0, "keyword.operator.formula.causal"),
    ("query f:", "*", 0, "keyword.operator.formula.causal"),
    ("query f:", "ns", 0, "support.function.formula.causal"),
    ("query f:", "C", 0, "support.function.formula.causal"),
    ("query f:", "I", 0, "support.function.formula.causal"),
    ("query f:", "3", 0, "constant.numeric.causal"),
    ("query f:", "inc", 0, "variable.other.causal"),
    ("query o:", "poly", 0, "support.function.formula.causal"),
    ("query o:", "spline", 0, "support.function.formula.causal"),
    ("query o:", "outcome", 0, "variable.parameter.option.causal"),
])
def test_textmate_scopes_each_construct_by_its_context(tokenised, line, piece, nth, scope):
    assert scope_of(tokenised, "corpus", line, piece, nth) == scope


def test_textmate_scopes_an_engine_binding(tokenised):
    assert scope_of(tokenised, "engine", "data", "duckdb") == "support.function.engine.causal"
    assert scope_of(tokenised, "engine", "data", "table") == "variable.parameter.option.causal"


def test_formula_functions_are_the_terms_functions(tokenised):
    from causal_dsl.pygments_lexer import FORMULA_FUNCTIONS

    assert set(FORMULA_FUNCTIONS) == set(FUNCTIONS)
    rules = json.loads(GRAMMAR.read_text(encoding="utf-8"))["repository"]["method-arguments"]
    [call] = [r for r in rules["patterns"] if "meta.function-call" in r.get("name", "")]
    assert set(re.search(r"\(([A-Za-z|]+)\)", call["begin"]).group(1).split("|")) \
        == set(FUNCTIONS)


def test_textmate_region_of_an_unterminated_string_ends_with_its_line(tokenised_broken):
    assert [r["open"] for r in tokenised_broken] == [0, 0]


@pytest.fixture(scope="session")
def tokenised_broken(textmate_dir: Path) -> list[dict]:
    proc = subprocess.run(["node", "tokenize.mjs"], cwd=textmate_dir, capture_output=True,
                          text=True, timeout=120, input=json.dumps(
                              {"grammar": str(GRAMMAR), "texts": ['var x: binary "open\nx -> y']}))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


# --- Pygments -------------------------------------------------------------------------------------
def test_pygments_lexer_is_registered_as_an_entry_point():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    points = {e.name: e.value for e in entry_points(group="pygments.lexers")}
    if "causal" not in points:
        pytest.skip("causal-dsl is not installed (pip install -e .): no entry points")
    assert points["causal"] == "causal_dsl.pygments_lexer:CausalLexer"
    assert get_lexer_by_name("causal").name == "Causal"
    assert get_lexer_for_filename("study.causal").name == "Causal"


def pygments_tokens(name: str) -> list[tuple[int, int, str, Any]]:
    """(line, column, text, token type) of every token, 1-based."""
    from pygments import lex

    from causal_dsl.pygments_lexer import CausalLexer

    out, line, column = [], 1, 1
    for token, value in lex(TEXTS[name], CausalLexer()):
        out.append((line, column, value, token))
        for ch in value:
            line, column = (line + 1, 1) if ch == "\n" else (line, column + 1)
    return out


def is_pygments_keyword(token: Any) -> bool:
    from pygments.token import Keyword, Operator

    return (token in Keyword and token not in Keyword.Type and token not in Keyword.Constant) \
        or token in Operator.Word


@pytest.mark.parametrize("name", list(TEXTS))
def test_pygments_lexes_without_errors_and_loses_nothing(name):
    from pygments.token import Error

    tokens = pygments_tokens(name)
    errors = [v for _, _, v, t in tokens if t in Error]
    if parses(name):
        assert errors == []
    else:
        assert all(NO_TOKEN.fullmatch(v) for v in errors), errors
    assert "".join(v for _, _, v, _ in tokens) == TEXTS[name]


def test_pygments_marks_exactly_the_keywords():
    found = {v for _, _, v, t in pygments_tokens("corpus") if is_pygments_keyword(t)}
    assert found == lark_keywords()


@pytest.mark.parametrize("name", WHOLE)
def test_pygments_keywords_are_where_the_parser_reads_keywords(name):
    expected = parser_keywords(name)
    assert expected is not None
    assert {(line, column) for line, column, _, t in pygments_tokens(name)
            if is_pygments_keyword(t)} == expected


@pytest.mark.parametrize(("line_start", "piece", "expected"), [
    ("var ca", ">=", "Token.Operator"),
    ("var ca", "and", "Token.Operator.Word"),
    ("var ca", "2011.5", "Token.Literal.Number"),
    ("var adopted", "first_treated", "Token.Name.Constant"),
    ("selected", "s", "Token.Name.Variable"),
    ("layout", "-0.5", "Token.Literal.Number.Float"),
    ("query f:", "ns", "Token.Name.Builtin"),
    ("query f:", "^", "Token.Operator"),
    ("query o:", "poly", "Token.Name.Builtin"),
    ("query o:", "outcome", "Token.Name.Attribute"),
    ("data", "weights", "Token.Keyword"),
])
def test_pygments_scopes_each_construct_by_its_context(line_start, piece, expected):
    [number] = [i for i, line in enumerate(CORPUS.split("\n"), 1) if line.startswith(line_start)]
    found = [str(t) for line, _, v, t in pygments_tokens("corpus") if line == number and v == piece]
    assert found[0] == expected


def test_pygments_reads_an_engine_binding():
    assert [str(t) for _, _, v, t in pygments_tokens("engine") if v == "duckdb"] \
        == ["Token.Name.Builtin"]


def test_docs_causal_blocks_highlight():
    from pygments import lex
    from pygments.token import Error

    from causal_dsl.pygments_lexer import CausalLexer

    blocks = re.findall(r"```causal\n(.*?)```", (ROOT / "docs" / "editors.md").read_text(),
                        re.S)
    assert blocks
    for block in blocks:
        assert [v for t, v in lex(block, CausalLexer()) if t in Error] == []
        causal_dsl.parse(block)  # and the example is a valid study


def test_vscode_extension_manifest_starts_the_server():
    manifest = json.loads((ROOT / "editors" / "vscode" / "package.json").read_text())
    [language] = manifest["contributes"]["languages"]
    assert language["id"] == "causal" and ".causal" in language["extensions"]
    [grammar] = manifest["contributes"]["grammars"]
    assert (ROOT / "editors" / "vscode" / grammar["path"]).resolve() == GRAMMAR.resolve()
    assert grammar["scopeName"] == json.loads(GRAMMAR.read_text())["scopeName"]
    main = ROOT / "editors" / "vscode" / manifest["main"]
    assert main.is_file() and "lsp" in main.read_text()
