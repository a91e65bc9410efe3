"""Refutations (`causal_dsl.checks.refute`): all pass on data simulated from the graph; the
placebo treatment fails for an estimator that finds effects in noise; a placebo outcome
fails when the data has an arrow the graph denies; seeded, with the cost counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl.checks import ols_effect, placebo_outcomes, refute
from causal_dsl.errors import EstimationError

STUDY = """\
var pre: continuous
var x: continuous
var d: continuous
var y: continuous
var m: continuous
x -> d -> m -> y
x -> y
x -> pre
"""


def _frame(n: int = 1500, seed: int = 0, d_to_pre: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = x + rng.normal(size=n)
    m = d + rng.normal(size=n)
    y = 2 * m + x + rng.normal(size=n)
    pre = x + d_to_pre * d + rng.normal(size=n)
    return pd.DataFrame({"pre": pre, "x": x, "d": d, "y": y, "m": m})


def test_placebo_outcomes_follow_the_graph() -> None:
    m = causal_dsl.parse(STUDY)
    # pre is not a descendant of d, and {x} separates it from d: a placebo outcome;
    # m and y are descendants; x is in the adjustment set
    assert placebo_outcomes(m, "d", {"x"}) == ("pre",)
    assert placebo_outcomes(m, "d", set()) == ()  # d <- x -> pre is open
    heart = causal_dsl.load("examples/heart_drug.causal", check_files=False)
    assert placebo_outcomes(heart, "drug", {"initial_health", "ward"}, exclude=["severity"]) \
        == ("age",)


def test_all_pass_when_the_graph_is_right() -> None:
    df = _frame()
    res = refute(df, "d", "y", ["x"], placebo={"pre": df}, seed=1, replications=15)
    assert [r.verdict for r in res.items] == ["pass"] * 4
    assert res.original == pytest.approx(2.0, abs=0.15)
    assert res.estimations == 1 + 3 * 15 + 1
    assert "cost: 47 re-estimations" in str(res)
    assert all(r.sentence for r in res.items)


def test_placebo_outcome_fails_when_the_data_has_the_arrow() -> None:
    df = _frame(d_to_pre=0.3)
    res = refute(df, "d", "y", ["x"], placebo={"pre": df}, seed=1, replications=5)
    last = res.items[-1]
    assert last.name == "placebo outcome pre" and last.passed is False
    assert "a path the graph does not show" in last.sentence
    assert res.failed == (last,)


def test_placebo_treatment_fails_for_an_estimator_that_ignores_the_treatment() -> None:
    def broken(frame: pd.DataFrame, t: str, y: str, covs: object) -> tuple[float, float]:
        return float(frame[y].mean()), 0.1  # an "effect" that has nothing to do with t

    res = refute(_frame(400), "d", "y", ["x"], estimator=broken, seed=0, replications=5)
    placebo = res.items[0]
    assert placebo.name == "placebo treatment" and placebo.passed is False
    assert "finds effects in noise" in placebo.sentence


def test_seeded_and_reproducible() -> None:
    df = _frame(500)
    a = refute(df, "d", "y", ["x"], seed=7, replications=5).to_dict()
    b = refute(df, "d", "y", ["x"], seed=7, replications=5).to_dict()
    for key in ("seconds",):
        a.pop(key)
        b.pop(key)
    assert a == b
    assert a["checks"][3]["verdict"] == "n/a"  # no placebo outcome given


def test_ols_effect_matches_statsmodels_hc1() -> None:
    import statsmodels.api as sm

    df = _frame(300, 3)
    est, se = ols_effect(df, "d", "y", ["x"])
    fit = sm.OLS(df["y"], sm.add_constant(df[["d", "x"]])).fit(cov_type="HC1")
    assert est == pytest.approx(fit.params["d"], rel=1e-10)
    assert se == pytest.approx(fit.bse["d"], rel=1e-10)


def test_non_finite_original_is_an_error() -> None:
    df = _frame(100).assign(d=1.0)
    with pytest.raises(EstimationError, match="finite estimate"):
        refute(df, "d", "y", ["x"])
