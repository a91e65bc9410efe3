"""The documentation's examples are real: every ```causal block in docs/language.md and README.md
parses, and every ```causal-error block fails with a `CausalError` (never anything else).

Blocks are parsed with `causal_dsl.parse(text)` and no path, so data files are not looked for.
The language reference is also checked for completeness against the code: every method and
option of `METHOD_OPTIONS`, every estimand, type and keyword is documented.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import causal_dsl
from causal_dsl import CausalError
from causal_dsl.dagitty import CAUSAL_KEYWORDS
from causal_dsl.model import ESTIMANDS, METHOD_OPTIONS, PANEL_OPTIONS, VarType

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "language.md", ROOT / "README.md", ROOT / "docs" / "assumptions.md"]
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def _blocks(kind: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            if m.group(1) == kind:
                line = text.count("\n", 0, m.start()) + 1
                found.append((f"{doc.name}:{line}", m.group(2)))
    return found


VALID = _blocks("causal")
INVALID = _blocks("causal-error")


def test_there_are_examples() -> None:
    assert len(VALID) >= 10
    assert len(INVALID) >= 8


@pytest.mark.parametrize(("where", "text"), VALID, ids=[w for w, _ in VALID])
def test_causal_blocks_parse(where: str, text: str) -> None:
    try:
        causal_dsl.parse(text)
    except CausalError as error:
        pytest.fail(f"the example at {where} does not parse:\n{error}")


@pytest.mark.parametrize(("where", "text"), INVALID, ids=[w for w, _ in INVALID])
def test_causal_error_blocks_fail(where: str, text: str) -> None:
    with pytest.raises(CausalError) as info:
        causal_dsl.parse(text)
    assert info.value.diagnostics, where


LANGUAGE = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("method", "option"),
    [(m, o) for m, options in METHOD_OPTIONS.items() for o in options] + [("auto", "")],
)
def test_every_option_is_in_the_table(method: str, option: str) -> None:
    row = f"| `{method}` | `{option}` |" if option else f"| `{method}` | |"
    assert row in LANGUAGE, f"docs/language.md lacks the row {row!r}"
    if option:
        description = METHOD_OPTIONS[method][option][1]
        assert description in LANGUAGE, f"{method}.{option}: update its description"


def test_words_are_documented() -> None:
    for word in [*ESTIMANDS, *(t.value for t in VarType), *PANEL_OPTIONS]:
        assert f"`{word}`" in LANGUAGE, word
    for word in CAUSAL_KEYWORDS:
        assert f"`{word}`" in LANGUAGE, word


def test_escapes_documented_as_implemented() -> None:
    study = causal_dsl.parse('var x: binary "q\\" b\\\\ n\\n t\\t s\\/ u\\u00e9 k\\q"\n')
    assert study.variable("x").label == 'q" b\\ n\n t\t s/ ué k\\q'
