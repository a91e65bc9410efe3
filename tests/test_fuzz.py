"""Fuzzing the parser: whatever the input, `causal_dsl.parse` returns a `Study` or raises
`CausalError` with renderable diagnostics whose spans point into the text — never any other
exception. Three generators: random bytes decoded as text, token soups built from the language's
own tokens and keywords (which reach deep into the grammar and the resolver), and valid studies
with one line mutated. The whole file runs in a few seconds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import causal_dsl
from causal_dsl import CausalError, ParseError
from causal_dsl.dagitty import CAUSAL_KEYWORDS
from causal_dsl.model import ESTIMANDS, METHOD_OPTIONS, VarType

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(text: str, path: str | None = None) -> None:
    """Parse; on failure, the error must be well formed: codes, spans inside the text, and a
    rendering and JSON form that do not raise."""
    try:
        causal_dsl.parse(text, path, check_files=False)
    except CausalError as error:
        assert error.diagnostics
        # lines as an editor shows them: LF, CRLF and a lone CR each end one (issue 17)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        for d in error.diagnostics:
            assert d.code[0] == "E" and d.code[1:].isdigit()
            if d.span is not None:
                assert 1 <= d.span.line <= len(lines) + 1, d
                assert d.span.column >= 1 and d.span.end_column >= d.span.column, d
        error.render()
        json.dumps(error.to_dict())
        json.loads(error.to_json())


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    _check(data.decode("utf-8", errors="replace"))
    _check(data.decode("latin-1"), "fuzz.causal")


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    _check(text)


_PUNCTUATION = ["->", "<-", "<->", "{", "}", "(", ")", ",", ":", "=", "#", ";", "-", "<", ">",
                "`", '"', "\\", "@", "→", "+", "*", "^", "+", ":", "==", "!=", "<=", ">=", "<",
                ">", "<-1", "(0.1, 0.5)"]
_WORDS = [
    *sorted(CAUSAL_KEYWORDS), *ESTIMANDS, *METHOD_OPTIONS, *(t.value for t in VarType),
    *{o for options in METHOD_OPTIONS.values() for o in options}, "unit", "time",
    "true", "false", "x", "y", "z", "u", "q", "I", "poly", "ns", "spline", "C", "control",
    "treated", "first_treated", "kind", "analytic", "frequency", "survey",
]
_ATOMS = ['"a.csv"', '"label"', '"x \\" y"', '"unterminated', "`quoted name`", "`data`", "`",
          "0", "2", "-1", "0.5", "1e3", "2x", "x-y", "a.b"]
SECOND_LEVELS = ["treated = 1", "control = 2", '"b"', "x = y"]
SELECTED_LABELS = ["", ' "label"', " x"]
CONDITION_TAILS = ["", " and not x > 1", ' or (y == "a")', " and (x", " or 1 < 2"]
_TOKEN = st.sampled_from(_PUNCTUATION + _WORDS + _ATOMS)
_SEPARATOR = st.sampled_from([" ", " ", " ", "", "\n", "\r\n", "\t", "  # c\n"])


@st.composite
def _token_soup(draw: st.DrawFn) -> str:
    parts = []
    for token in draw(st.lists(_TOKEN, max_size=40)):
        parts.append(token)
        parts.append(draw(_SEPARATOR))
    return "".join(parts)


@FUZZ
@given(_token_soup())
def test_token_soup(text: str) -> None:
    _check(text)


@st.composite
def _statement_lines(draw: st.DrawFn) -> str:
    """Lines that mostly parse (so the resolver is exercised too), built from statement
    templates filled with fuzzed names, types, estimands, methods and options."""
    names = st.sampled_from(["x", "y", "z", "u", "`data`", "w", "x"])
    words = st.sampled_from(_WORDS)
    values = st.sampled_from(["1", "0.5", "-2", "true", "x", '"HC3"', "{x, y}", "{}", "z",
                              "x + z^2", "x * z", "ns(x, 3) + C(z)", "I(x^2):z", "(x + z)^2",
                              "poly(x, 2, 3)", "x:y + w", "log(x)", "x^0", "I(x + z)"])
    templates = [
        lambda: f"var {draw(names)}: {draw(words)}",
        lambda: f'var {draw(names)}: categorical("a", {draw(values)}) as "{draw(words)}"',
        lambda: f"latent {draw(names)}{draw(st.sampled_from(['', ' invariant']))}",
        lambda: f"{draw(names)} {draw(st.sampled_from(['->', '<-', '<->']))} {draw(names)}",
        lambda: f"{{{draw(names)}, {draw(names)}}} -> {draw(names)} <- {draw(names)}",
        lambda: (f"query {draw(names)}: {draw(words)}({draw(names)} -> {draw(names)})"
                 f" {draw(st.sampled_from(['adjusting', 'adjust for', 'never adjust for']))}"
                 f" {{{draw(names)}}} using {draw(words)}({draw(words)} = {draw(values)})"),
        lambda: f'data "{draw(words)}.csv" panel({draw(words)} = {draw(values)})',
        lambda: f'study "{draw(words)}"',
        lambda: (f"var {draw(names)}: binary({draw(st.sampled_from(['control', 'treated', 'x']))}"
                 f' = "a", {draw(st.sampled_from(SECOND_LEVELS))})'),
        lambda: (f"query q: {draw(words)}({draw(names)} -> {draw(names)}) using "
                 f"{draw(st.sampled_from(['ols(outcome', 'matching(score']))} = {draw(values)})"),
        # issue 12, phase 2: weights, derived treatments, selection and layout
        lambda: (f'data "d.csv" {draw(st.sampled_from(["", "panel(unit = u, time = t) "]))}'
                 f"weights({draw(names)}{draw(st.sampled_from(['', ', kind = ']))}"
                 f"{draw(values)})"),
        lambda: (f"var {draw(names)}: {draw(words)} when {draw(names)} "
                 f"{draw(st.sampled_from(['==', '!=', '<', '>=']))} {draw(values)}"
                 f"{draw(st.sampled_from(CONDITION_TAILS))}"),
        lambda: f"var {draw(names)}: binary from {draw(words)} = {draw(names)}",
        lambda: f"selected {draw(names)}{draw(st.sampled_from(SELECTED_LABELS))}",
        lambda: f"layout {draw(names)} = ({draw(values)}, {draw(values)})",
    ]
    lines = [draw(st.sampled_from(templates))() for _ in range(draw(st.integers(0, 12)))]
    return "\n".join(lines)


@FUZZ
@given(_statement_lines())
def test_statement_soup(text: str) -> None:
    _check(text)


EXAMPLE = (Path(__file__).resolve().parent.parent / "examples" / "heart_drug.causal").read_text(
    encoding="utf-8"
)


@FUZZ
@given(st.integers(0, 10_000), st.integers(0, 10_000), st.text(max_size=6))
def test_mutated_example(line_seed: int, column_seed: int, insert: str) -> None:
    # Insert random text at a random place of a real study.
    lines = EXAMPLE.split("\n")
    i = line_seed % len(lines)
    j = column_seed % (len(lines[i]) + 1)
    lines[i] = lines[i][:j] + insert + lines[i][j:]
    _check("\n".join(lines))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=60))
def test_load_random_files(data: bytes) -> None:
    # Bytes that are not UTF-8 are E100; anything else goes through the parser.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.causal"
        path.write_bytes(data)
        try:
            causal_dsl.load(path, check_files=False)
        except ParseError as error:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                assert [d.code for d in error.diagnostics] == ["E100"]
        except CausalError:
            pass
