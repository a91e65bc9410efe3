"""Coded values: binary columns read by their declared codes or one spelling pair, never guessed;
names of types, estimands and methods read case-insensitively."""

from __future__ import annotations

import pandas as pd
import pytest

import causal_dsl
from causal_dsl import CausalError, DataError
from causal_dsl.data import check_data

HEAD = "var y: continuous\nsex -> y\n"


def _study(decl: str) -> causal_dsl.Study:
    return causal_dsl.parse(f"var sex: {decl}\n" + HEAD)


def _codes(decl: str, values: list[object]) -> list[float]:
    from causal_dsl.data import code_column
    study = _study(decl)
    coded, problems = code_column(study.variable("sex"), pd.Series(values), "t.csv")
    assert not problems, problems
    return coded.tolist()


@pytest.mark.parametrize(("decl", "values", "expected"), [
    ('binary("F", "M")', ["F", "M", "M"], [0.0, 1.0, 1.0]),
    ('binary("M", "F")', ["F", "M"], [1.0, 0.0]),
    ('binary(control = "ctl", treated = "trt")', ["trt", "ctl"], [1.0, 0.0]),
    ('binary(treated = "trt", control = "ctl")', ["trt", "ctl"], [1.0, 0.0]),
    ("binary(1, 2)", [1, 2, 2.0], [0.0, 1.0, 1.0]),
    ("binary", [0, 1, 1], [0.0, 1.0, 1.0]),
    ("binary", [True, False], [1.0, 0.0]),
    ("binary", ["yes", "No", "YES"], [1.0, 0.0, 1.0]),
    ("BINARY", ["t", "f"], [1.0, 0.0]),
])
def test_codes(decl: str, values: list[object], expected: list[float]) -> None:
    assert _codes(decl, values) == expected


@pytest.mark.parametrize(("decl", "values", "message"), [
    ("binary", ["F", "M", "M"], "'M' (2 rows) at line(s) 3, 4"),  # and F is not read either
    ("binary", ["Female", "Male"], "'Female' (1 row), 'Male' (1 row)"),
    ('binary("F", "M")', ["F", "M", "f", "X", "f"], "'f' (2 rows), 'X' (1 row)"),
    ("binary", [0, 1, 2], "'2' (1 row)"),
])
def test_values_outside_the_codes_are_errors(decl: str, values: list[object],
                                             message: str) -> None:
    from causal_dsl.data import code_column
    study = _study(decl)
    _, problems = code_column(study.variable("sex"), pd.Series(values), "column 'sex' of t.csv")
    (p,) = problems
    assert p.code == "E405"
    assert message in p.message and "column 'sex' of t.csv" in p.message


def test_two_text_values_suggest_declaring_the_codes() -> None:
    study = _study("binary")
    with pytest.raises(DataError) as info:
        check_data(study, pd.DataFrame({"sex": ["F", "M"], "y": [1.0, 2.0]}))
    (d,) = info.value.diagnostics
    assert 'binary("F", "M")' in (d.help or "")
    assert "'F' would otherwise pass" in d.notes[0]


@pytest.mark.parametrize(("decl", "message"), [
    ('binary("F")', "takes two levels, not 1"),
    ('binary("F", "M", "X")', "takes two levels, not 3"),
    ('binary("F", "F")', "listed twice"),
    ('binary(control = "a", treatment = "b")', "unknown binary level name 'treatment'"),
    ('binary(control = "a", "b")', "all named or all listed"),
    ('categorical(a = "x")', "listed, not named"),
])
def test_bad_binary_declarations_are_e215(decl: str, message: str) -> None:
    with pytest.raises(CausalError) as info:
        _study(decl)
    assert [d.code for d in info.value.diagnostics] == ["E215"]
    assert message in info.value.diagnostics[0].message


def test_names_are_case_insensitive() -> None:
    s = causal_dsl.parse("var t: Binary\nvar y: CONTINUOUS\nt -> y\n"
                         "query q: ATE(t -> y) using OLS(se = \"HC3\")\n")
    q = s.queries[0]
    assert (q.estimand, q.method.name, s.variable("t").type.value) == ("ate", "ols", "binary")
    assert s.same_as(causal_dsl.parse("var t: binary\nvar y: continuous\nt -> y\n"
                                      "query q: ate(t -> y) using ols(se = \"HC3\")\n"))


def test_coded_treatment_estimates() -> None:
    # a text-coded treatment runs end to end, the declared control as 0
    import numpy as np
    rng = np.random.default_rng(0)
    n = 400
    d = rng.uniform(size=n) < 0.5
    frame = pd.DataFrame({"arm": np.where(d, "trt", "ctl"), "y": 2.0 * d + rng.normal(size=n)})
    s = causal_dsl.parse('var arm: binary(control = "ctl", treated = "trt")\n'
                         "var y: continuous\narm -> y\nquery q: ate(arm -> y) using ols\n")
    est = s.estimate("q", data=frame).result.estimate
    assert est.ci_low < 2.0 < est.ci_high and est.effect > 0
