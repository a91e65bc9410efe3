"""The grammar's tables on disk (`causal_dsl.syntax_cache`): a file whose line shapes have been
seen is parsed without Lark, to the same syntax tree and model; a cache that is corrupt, from
another grammar, or cannot be written changes nothing but the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import causal_dsl
from causal_dsl import syntax, syntax_cache
from causal_dsl.errors import ParseError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.causal"))


def _fresh_grammar(monkeypatch: pytest.MonkeyPatch, cache: Path) -> syntax._Grammar:
    """A new `_Grammar` reading (and writing) the cache in `cache`."""
    monkeypatch.setenv("CAUSAL_DSL_CACHE_DIR", str(cache))
    syntax._grammar.cache_clear()
    return syntax._grammar()


@pytest.fixture(autouse=True)
def _restore_grammar() -> object:
    yield
    syntax._grammar.cache_clear()


def test_a_second_process_parses_without_lark(tmp_path: Path) -> None:
    env = {**os.environ, "CAUSAL_DSL_CACHE_DIR": str(tmp_path)}
    code = ("import sys, causal_dsl; study = causal_dsl.load(sys.argv[1], check_files=False); "
            "print(len(study.variables), 'lark' in sys.modules)")
    example = str(ROOT / "examples" / "heart_drug.causal")
    first = subprocess.run([sys.executable, "-c", code, example], env=env, capture_output=True,
                           text=True, check=True)
    assert first.stdout.split() == ["6", "True"]  # a cold cache: Lark derives the tables
    assert [p.name.startswith("grammar-") for p in tmp_path.iterdir()] == [True]  # no temp
    second = subprocess.run([sys.executable, "-c", code, example], env=env,
                            capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["6", "False"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_the_cached_shapes_build_the_same_tree(example: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text = example.read_text(encoding="utf-8")
    cold = _fresh_grammar(monkeypatch, tmp_path)
    assert cold.dirty  # an empty directory: the tables come from Lark
    expected = syntax.parse_syntax(text, str(example))
    expected_model = causal_dsl.parse(text, str(example), check_files=False)
    warm = _fresh_grammar(monkeypatch, tmp_path)
    assert not warm.dirty and warm.tables.shapes  # read back
    assert syntax.parse_syntax(text, str(example)) == expected
    assert causal_dsl.parse(text, str(example), check_files=False) == expected_model
    assert warm._lark is None  # no Lark was needed


def test_errors_are_reported_the_same_with_a_warm_cache(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "var x: binary\nx -> -> y\nquery q: ate(x -> y\nvar y: continuous\n"
    _fresh_grammar(monkeypatch, tmp_path)
    with pytest.raises(ParseError) as cold:
        syntax.parse_syntax(bad, "s.causal")
    _fresh_grammar(monkeypatch, tmp_path)
    with pytest.raises(ParseError) as warm:
        syntax.parse_syntax(bad, "s.causal")
    assert [str(d) for d in warm.value.diagnostics] == [str(d) for d in cold.value.diagnostics]
    assert len(cold.value.diagnostics) == 2


@pytest.mark.parametrize("damage", ["not json", "format", "rule", "method", "position", "types",
                                    "shape"])
def test_a_damaged_cache_is_ignored_and_rewritten(damage: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "examples" / "heart_drug.causal").read_text(encoding="utf-8")
    _fresh_grammar(monkeypatch, tmp_path)
    expected = syntax.parse_syntax(text)
    (path,) = tmp_path.glob("grammar-*.json")
    body = json.loads(path.read_text())
    if damage == "not json":
        path.write_text("{")
    else:
        if damage == "format":
            body["format"] = -1
        elif damage == "rule":
            body["shapes"][0][1][0] = "__init__"  # no rule of the builder: never looked up
        elif damage == "method":
            body["shapes"][0][1][0] = "build"  # a method of the builder, but not a rule
        elif damage == "position":
            body["shapes"][0][1] = len(body["shapes"][0][0]) + 5
        elif damage == "types":
            body["shapes"][0][2] = ["NAME"]
        else:
            body["shapes"][0][0] = [1, 2]
        path.write_text(json.dumps(body))
    grammar = _fresh_grammar(monkeypatch, tmp_path)
    assert grammar.dirty  # not trusted: derived again from Lark
    assert syntax.parse_syntax(text) == expected
    assert syntax_cache.load(path, grammar_rules()) is not None  # rewritten, valid again


def grammar_rules() -> frozenset[str]:
    return frozenset(n for n in dir(syntax._ToSyntax) if not n.startswith("_")) - {"build"}


def test_an_unwritable_cache_changes_nothing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory would be")
    text = (ROOT / "examples" / "heart_drug.causal").read_text(encoding="utf-8")
    _fresh_grammar(monkeypatch, blocked / "cache")
    tree = syntax.parse_syntax(text)
    assert [type(s).__name__ for s in tree.statements][:2] == ["StudyStmt", "DataStmt"]
    assert not (blocked / "cache").exists()


def test_another_grammar_or_lark_gets_another_file(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAUSAL_DSL_CACHE_DIR", str(tmp_path))
    one = syntax_cache.location("start: a")
    assert one is not None and one.parent == tmp_path
    assert syntax_cache.location("start: b") != one
    assert syntax_cache.location("start: a") == one
    monkeypatch.delenv("CAUSAL_DSL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    there = syntax_cache.location("start: a")
    assert there is not None and there.parent == tmp_path / "xdg" / "causal-dsl"
