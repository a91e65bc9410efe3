"""Exact stratification against hand computations on a small table, cells lacking an arm, the
support function the planner calls, and the errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_dsl.errors import DataError, EstimationError
from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.stratification import stratification_support
from causal_dsl.model import VarType

strat = ESTIMATORS["stratification"]


def table() -> pd.DataFrame:
    """Three cells of g: a (2 treated, 2 controls), b (1 treated, 3 controls), c (3 treated,
    1 control)."""
    rows = [  # (g, d, y)
        ("a", 1, 4.0), ("a", 1, 6.0), ("a", 0, 1.0), ("a", 0, 3.0),
        ("b", 1, 10.0), ("b", 0, 2.0), ("b", 0, 4.0), ("b", 0, 6.0),
        ("c", 1, 7.0), ("c", 1, 8.0), ("c", 1, 9.0), ("c", 0, 5.0),
    ]
    df = pd.DataFrame(rows, columns=["g", "d", "y"])
    df["g"] = pd.Categorical(df.g)
    df["d"] = df.d.astype(float)
    return df


# within-cell differences: a: 5 − 2 = 3; b: 10 − 4 = 6; c: 8 − 5 = 3
HAND = {
    "ate": (4 * 3 + 4 * 6 + 4 * 3) / 12,  # cell sizes 4, 4, 4
    "att": (2 * 3 + 1 * 6 + 3 * 3) / 6,  # treated 2, 1, 3
    "atc": (2 * 3 + 3 * 6 + 1 * 3) / 6,  # controls 2, 3, 1
}


@pytest.mark.parametrize("estimand", ["ate", "att", "atc"])
def test_estimates_equal_hand_computation(estimand: str) -> None:
    r = strat(table(), Design("d", "y", estimand, ("g",)), None)
    assert r.estimate.effect == pytest.approx(HAND[estimand])
    assert r.estimate.label == estimand.upper()
    assert r.estimand == estimand and r.detail("n_cells") == 3


def test_standard_error_equals_hand_computation() -> None:
    r = strat(table(), Design("d", "y", "att", ("g",)), None)
    # within-cell variances (ddof 1): a: s²₁ = 2, s²₀ = 2; b: one treated, s²₀ = 4; c: s²₁ = 1,
    # one control. A single unit takes its arm's pooled within-cell variance SS / Σ(n − 1):
    # treated (2 + 0 + 2) / (1 + 0 + 2) = 4/3, controls (2 + 8 + 0) / (1 + 2 + 0) = 10/3.
    w = np.array([2, 1, 3]) / 6
    v = np.array([2 / 2 + 2 / 2, (4 / 3) / 1 + 4 / 3, 1 / 3 + (10 / 3) / 1])
    assert r.estimate.se == pytest.approx(float(np.sqrt(np.sum(w**2 * v))))
    assert "pooled within-cell variance" in r.estimate.se_kind


def test_cells_lacking_an_arm_are_reported_and_excluded_from_the_estimand_they_break() -> None:
    df = pd.concat([table(), pd.DataFrame({"g": ["d", "d"], "d": [0.0, 0.0], "y": [0.0, 1.0]})])
    df["g"] = pd.Categorical(df.g)
    att = strat(df, Design("d", "y", "att", ("g",)), None)
    assert att.estimate.effect == pytest.approx(HAND["att"])  # controls-only cell: ATT unharmed
    assert not att.warnings
    ate = strat(df, Design("d", "y", "ate", ("g",)), None)
    assert ate.estimate.effect == pytest.approx(HAND["ate"])  # the cell is dropped from the ATE
    (w,) = ate.warnings
    assert "1 of 4 cell(s) lack treated or controls" in w and "g=d" in w and "(2 of 14" in w
    assert any("the ATT (`att(...)`) is supported" in c.message for c in ate.checks)
    assert ate.detail("n_cells_excluded") == 1 and ate.estimate.n == 12


def test_two_covariates_make_cells_of_their_combinations() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    a = rng.integers(0, 3, n)
    b = rng.integers(0, 2, n).astype(float)
    d = (rng.uniform(size=n) < 0.2 + 0.2 * a + 0.1 * b).astype(float)
    effect = np.array([1.0, 2.0, 3.0])[a]
    y = d * effect + 2 * a - b + rng.normal(size=n)
    df = pd.DataFrame({"d": d, "y": y, "a": pd.Categorical(a), "b": b})
    r = strat(df, Design("d", "y", "att", ("a", "b")), None)
    assert r.detail("n_cells") == 6
    assert r.estimate.covers(float(effect[d == 1].mean()))
    ate = strat(df, Design("d", "y", "ate", ("a", "b")), None)
    assert ate.estimate.covers(2.0) and not ate.estimate.covers(r.estimate.effect + 0.3)


def test_continuous_covariate_and_empty_set_are_errors() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"d": rng.integers(0, 2, 200).astype(float), "y": rng.normal(size=200),
                       "x": rng.normal(size=200)})
    with pytest.raises(EstimationError) as info:
        strat(df, Design("d", "y", "ate", ("x",)), None)
    assert info.value.diagnostics[0].code == "E508"
    assert "'x' has 200 distinct values" in info.value.diagnostics[0].message
    with pytest.raises(EstimationError):
        strat(df, Design("d", "y", "ate", ()), None)


def test_no_cell_with_both_arms_is_no_overlap() -> None:
    df = pd.DataFrame({"d": [1.0, 1.0, 0.0, 0.0], "y": [1.0, 2.0, 3.0, 4.0],
                       "g": pd.Categorical(["a", "a", "b", "b"])})
    with pytest.raises(DataError) as info:
        strat(df, Design("d", "y", "ate", ("g",)), None)
    assert info.value.diagnostics[0].code == "E413"


def test_support_for_the_planner() -> None:
    df = table()
    kinds = {"g": VarType.CATEGORICAL, "x": VarType.CONTINUOUS}
    s = stratification_support(df, "d", ["g"], kinds)
    assert s is not None and s.complete and s.n_cells == 3 and s.n_incomplete == 0
    assert "each of the 3 cells" in s.reason
    assert stratification_support(df.assign(x=1.0), "d", ["g", "x"], kinds) is None
    assert stratification_support(df, "d", [], kinds) is None
    extra = pd.DataFrame({"g": ["d"], "d": [0.0], "y": [0.0]})
    partial = stratification_support(pd.concat([df, extra]), "d", ["g"], kinds)
    assert partial is not None and not partial.complete and partial.n_incomplete == 1
