"""Model formulas: the term algebra (expansion table, errors), the design-matrix columns (R's
natural splines), and the estimators against statsmodels' formula API on a published
specification (Dehejia–Wahba's propensity model for the NSW–PSID data: powers and an
interaction) to 1e-8."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import causal_dsl
from causal_dsl import CausalError
from causal_dsl.errors import DiagnosticSink
from causal_dsl.estimators import matching, ols
from causal_dsl.estimators.common import Design
from causal_dsl.estimators.design_matrix import build, natural_spline
from causal_dsl.estimators.propensity import fit_logit
from causal_dsl.syntax import parse_syntax
from causal_dsl.terms import Formula, Power, Term, Var, read_formula


def formula(text: str) -> Formula:
    (q,) = parse_syntax(f"query q: ate(t -> y) using ols(outcome = {text})\n").statements
    value = q.clauses[0].options[0].value  # type: ignore[union-attr]
    sink = DiagnosticSink()
    node = value.value if value.kind == "formula" else None
    from causal_dsl.syntax import Ident
    f = read_formula(node if node is not None else Ident(value.value, value.span), sink)
    assert f is not None, sink.errors
    return f


EXPANSIONS = [
    ("a", "a"),
    ("a + b + a", "a + b"),
    ("a:b", "a:b"),
    ("b:a", "a:b"),
    ("a:a", "a"),
    ("a * b", "a + b + a:b"),
    ("a * b * c", "a + b + a:b + c + a:c + b:c + a:b:c"),
    ("(a + b):c", "a:c + b:c"),
    ("(a + b) * c", "a + b + c + a:c + b:c"),
    ("a^2", "a^2"),
    ("a^1", "a"),
    ("I(a^3)", "a^3"),
    ("I(a*a)", "a^2"),
    ("I(a^2*b)", "a^2:b"),
    ("poly(a, 3)", "a + a^2 + a^3"),
    ("ns(a, 4)", "ns(a, 4)"),
    ("spline(a, 4)", "ns(a, 4)"),
    ("C(a):b", "C(a):b"),
    ("age + age^2 + educ * re74 + spline(income, 4)",
     "age + age^2 + educ + re74 + educ:re74 + ns(income, 4)"),
]


@pytest.mark.parametrize(("text", "expected"), EXPANSIONS, ids=[t for t, _ in EXPANSIONS])
def test_expansion(text: str, expected: str) -> None:
    assert str(formula(text)) == expected
    # printing and reading again gives the same formula (equality ignores spans)
    assert formula(str(formula(text))) == formula(text)


def test_terms_are_values() -> None:
    assert formula("a + a^2") == Formula((Term((Var("a"),)), Term((Power("a", 2),))))
    assert formula("b:a") == formula("a:b")
    assert formula("a + b") != formula("b + a")  # order is the model's column order
    assert hash(formula("a*b")) == hash(formula("a + b + a:b"))


BAD = [
    ("log(a)", "unknown function 'log'"),
    ("(a + b)^2", "only a variable can be raised to a power"),
    ("a^0", "a power must be a whole number from 1 to 10"),
    ("a^2.5", "a power must be a whole number"),
    ("ns(a)", "ns() takes a variable and a whole number"),
    ("ns(a, 0)", "the degrees of freedom must be"),
    ("I(a + b)", "I() takes a power or product of variables"),
    ("I(3)", "I() takes a power or product of variables"),
    ("Poly(a, 2)", "did you mean 'poly'"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[t for t, _ in BAD])
def test_bad_formulas_are_e225(text: str, message: str) -> None:
    source = ("var t: binary\nvar y: continuous\nvar a: continuous\nvar b: continuous\n"
              "a -> t\nb -> t\n{a, b, t} -> y\n"
              f"query q: ate(t -> y) using ols(outcome = {text})\n")
    with pytest.raises(CausalError) as info:
        causal_dsl.parse(source)
    (d,) = info.value.diagnostics
    assert d.code == "E225"
    assert message in d.message + " " + (d.help or "")
    assert d.span is not None and d.span.line == 8


STUDY = """var t: binary
var y: continuous
var a: continuous
var b: continuous
var g: categorical
latent u
a -> t
b -> t
{a, b, g} -> y
t -> y
u -> y
"""


@pytest.mark.parametrize(("clause", "message"), [
    ("using matching(score = a + t:a)", "'t' is the treatment"),
    ("using ols(outcome = a + y)", "'y' is the outcome"),
    ("using ols(outcome = a + u)", "'u' is latent"),
    ("using ols(outcome = a + zz)", "unknown variable 'zz'"),
    ("using ols(outcome = g^2 + a)", "'g' is categorical"),
    ("adjusting {a} using ols(outcome = a + b)", "not in the proposed set"),
])
def test_term_variables_are_checked_in_resolve(clause: str, message: str) -> None:
    with pytest.raises(CausalError) as info:
        causal_dsl.parse(STUDY + f"query q: ate(t -> y) {clause}\n")
    assert any(message in d.message for d in info.value.diagnostics), info.value
    assert all(d.span is not None and d.span.line == 12 for d in info.value.diagnostics)


def test_formula_options_print_and_compare_semantically() -> None:
    one = causal_dsl.parse(STUDY + "query q: ate(t -> y) using MATCHING(score = a*b)\n")
    two = causal_dsl.parse(STUDY + "query q: ATE(t -> y) using matching(score = a + b + b:a)\n")
    assert one.same_as(two)
    assert str(one.queries[0].method) == "matching(score = a + b + a:b)"
    three = causal_dsl.parse(STUDY + "query q: ate(t -> y) using matching(score = a + b)\n")
    assert not one.same_as(three)


# --- design matrices ----------------------------------------------------------------------------
def _truncated_power_natural(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """The natural cubic spline space by its textbook basis (Hastie, Tibshirani & Friedman
    2009, eq. 5.4–5.5): 1, x, and d_k(x) − d_{K−1}(x) — an independent construction."""
    k = len(knots)

    def d(j: int) -> np.ndarray:
        return (np.clip(x - knots[j], 0, None) ** 3
                - np.clip(x - knots[-1], 0, None) ** 3) / (knots[-1] - knots[j])

    cols = [np.ones_like(x), x] + [d(j) - d(k - 2) for j in range(k - 2)]
    return np.column_stack(cols)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 6])
def test_natural_spline_spans_the_natural_cubic_spline_space(df: int) -> None:
    rng = np.random.default_rng(df)
    x = rng.gamma(2.0, 3.0, 400)
    basis, knots = natural_spline(x, df)
    assert basis.shape == (400, df)
    np.testing.assert_allclose(knots[1:-1], np.quantile(x, np.arange(1, df) / df))
    ours = np.column_stack([np.ones_like(x), basis])
    ref = _truncated_power_natural(x, knots)
    assert np.linalg.matrix_rank(ours) == df + 1 == ref.shape[1]
    # same column space: projecting one on the other leaves nothing
    proj = ours @ np.linalg.lstsq(ours, ref, rcond=None)[0]
    np.testing.assert_allclose(proj, ref, atol=1e-8 * np.abs(ref).max())


def test_natural_spline_matches_patsy_cr_in_a_regression() -> None:
    # patsy's cr with the same knots spans the same space: the fitted treatment effect agrees
    rng = np.random.default_rng(3)
    n = 500
    x = rng.uniform(0, 10, n)
    t = (rng.uniform(size=n) < 0.3 + 0.04 * x).astype(float)
    y = np.sin(x) + 2 * t + rng.normal(0, 0.3, n)
    frame = pd.DataFrame({"t": t, "y": y, "x": x})
    _, knots = natural_spline(x, 4)
    inner = ", ".join(repr(k) for k in knots[1:-1])
    ref = smf.ols(f"y ~ 0 + t + cr(x, knots=[{inner}], lower_bound={knots[0]!r}, "
                  f"upper_bound={knots[-1]!r})", frame).fit(cov_type="HC1")
    design = Design("t", "y", covariates=("x",), options={"outcome": formula("ns(x, 4)")})
    r = ols.estimate(frame, design)
    assert r.estimate.effect == pytest.approx(ref.params["t"], abs=1e-8)
    assert r.estimate.se == pytest.approx(ref.bse["t"], abs=1e-8)


def test_build_names_and_centring() -> None:
    frame = pd.DataFrame({"t": [0.0, 1, 0, 1], "a": [1.0, 2, 3, 4],
                          "g": pd.Categorical(["p", "q", "r", "p"])})
    x, names = build(frame, formula("a + a^2 + g + t:a + C(a)"), intercept=True,
                     lead=[("t", frame["t"].to_numpy())], treatment="t")
    assert names == ["(intercept)", "t", "a", "a^2", "g[q]", "g[r]", "t:a", "C(a)[2]",
                     "C(a)[3]", "C(a)[4]"]
    np.testing.assert_allclose(x[:, 6], [0, 2 - 2.5, 0, 4 - 2.5])  # centred at the mean


# --- a published specification against statsmodels' formula API ---------------------------------
def _nsw_like(n: int = 1500, seed: int = 11) -> pd.DataFrame:
    """Simulated data with the NSW–PSID columns and a known effect of 1500 (a stand-in with the
    same variables; the exact published sample is not shipped under an open licence)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 55, n).astype(float)
    educ = rng.integers(3, 17, n).astype(float)
    black = (rng.uniform(size=n) < 0.4).astype(float)
    re74 = np.where(rng.uniform(size=n) < 0.4, 0.0, rng.gamma(2.0, 6000.0, n))
    lin = -1.0 + 0.08 * (age - 30) - 0.004 * (age - 30) ** 2 + 0.1 * (educ - 10) + 0.8 * black \
        - 0.00008 * re74 + 0.000004 * educ * re74
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-lin))).astype(float)
    y = 2000 + 1500 * t + 60 * age - 0.8 * age**2 + 300 * educ + 0.5 * re74 \
        + rng.normal(0, 2000, n)
    return pd.DataFrame({"treat": t, "re78": y, "age": age, "educ": educ, "black": black,
                         "re74": re74})


# Dehejia & Wahba (1999) PSID-1 score: age, age², educ, educ², married, nodegree, black,
# hispanic, re74, re75, re74², re75², u74, u75, educ·re74 — here its powers and interaction.
SPEC = "age + age^2 + educ + educ^2 + black + re74 + re74^2 + educ:re74"
SMF = "age + I(age**2) + educ + I(educ**2) + black + re74 + I(re74**2) + educ:re74"
COVS = ("age", "educ", "black", "re74")


def test_score_model_matches_statsmodels_logit() -> None:
    frame = _nsw_like()
    x, names = build(frame, formula(SPEC))
    ours = fit_logit(x, frame["treat"].to_numpy(), names)
    ref = smf.logit(f"treat ~ {SMF}", frame).fit(disp=0, tol=1e-12, maxiter=200)
    np.testing.assert_allclose(ours.coef, ref.params.to_numpy(), rtol=1e-8, atol=1e-8 * 1e-3)
    np.testing.assert_allclose(ours.probability, ref.predict(frame), atol=1e-8)
    assert ours.loglik == pytest.approx(ref.llf, abs=1e-8)


@pytest.mark.parametrize("se", ["HC1", "nonrobust", "HC3"])
def test_outcome_model_matches_statsmodels_ols(se: str) -> None:
    frame = _nsw_like()
    design = Design("treat", "re78", covariates=COVS,
                    options={"outcome": formula(SPEC), "se": se})
    r = ols.estimate(frame, design)
    ref = smf.ols(f"re78 ~ treat + {SMF}", frame).fit(cov_type=se)
    # re74² reaches 1e10: relative agreement (both solvers lose digits on such a design)
    assert r.estimate.effect == pytest.approx(ref.params["treat"], rel=1e-8)
    assert r.estimate.se == pytest.approx(ref.bse["treat"], rel=1e-8)
    assert "re78 ~ treat + " + SPEC in r.description
    # the known effect is covered
    assert r.estimate.ci_low < 1500 < r.estimate.ci_high


def test_lin_interaction_matches_statsmodels_on_centred_covariates() -> None:
    frame = _nsw_like()
    design = Design("treat", "re78", covariates=COVS,
                    options={"outcome": formula("age + educ + black + re74 + treat:age")})
    r = ols.estimate(frame, design)
    f2 = frame.assign(agec=frame["age"] - frame["age"].mean())
    ref = smf.ols("re78 ~ treat + age + educ + black + re74 + treat:agec", f2).fit(
        cov_type="HC1")
    assert r.estimate.effect == pytest.approx(ref.params["treat"], abs=1e-8)
    assert r.estimate.se == pytest.approx(ref.bse["treat"], abs=1e-8)
    assert any("Lin 2013" in c.message for c in r.checks)


def test_matching_uses_the_score_formula_and_balances_its_terms() -> None:
    frame = _nsw_like()
    design = Design("treat", "re78", estimand="att", covariates=COVS,
                    options={"score": formula(SPEC)}, seed=1)
    r = matching.estimate(frame, design)
    ref = smf.logit(f"treat ~ {SMF}", frame).fit(disp=0, tol=1e-12, maxiter=200)
    coef = dict(r.details)["score_coefficients"]
    assert coef["age^2"] == pytest.approx(ref.params["I(age ** 2)"], rel=1e-8)
    assert coef["educ:re74"] == pytest.approx(ref.params["educ:re74"], rel=1e-8)
    rows = [row[0] for row in r.tables[0].rows]
    assert rows[1:] == ["age", "educ", "black", "re74", "age^2", "educ^2", "re74^2",
                        "educ:re74"]
    assert f"treat ~ {SPEC}" in r.description


def test_estimators_check_the_formula_against_the_adjustment_set() -> None:
    frame = _nsw_like()
    for option, module in (("score", matching), ("outcome", ols)):
        design = Design("treat", "re78", covariates=("age", "educ"),
                        options={option: formula("age + black")})
        with pytest.raises(CausalError) as info:
            module.estimate(frame, design)
        messages = [d.message for d in info.value.diagnostics]
        assert {d.code for d in info.value.diagnostics} == {"E514"}
        assert any("uses 'black'" in m for m in messages)
        assert any("leaves out 'educ'" in m for m in messages)
