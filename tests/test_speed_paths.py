"""The fast paths of issue 16 give the answers of the slow ones: the proportionate cross-check
says what it ran, the one-pass balance table equals the textbook formulas, the warm-started
logistic fit reaches statsmodels' maximum, the chunked neighbour searches equal the whole-array
ones, Arrow's CSV reader gives pandas' frame, and the small-region graph searches agree with the
vectorised ones. No timing here (speed is measured in benchmarks/speed.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import causal_dsl
from causal_dsl import planner, tables
from causal_dsl.estimators import matching, neighbours
from causal_dsl.estimators.propensity import fit_logit
from causal_dsl.graph import CausalGraph
from causal_dsl.graph import separators as sep


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x @ [0.5, -0.3, 0.2])))).astype(float)
    y = 2.0 * d + x @ [1.0, 0.5, -1.0] + rng.normal(size=n)
    return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "d": d, "y": y})


STUDY = """study "s"
var d: binary
var y: continuous
var x0: continuous
var x1: continuous
var x2: continuous
{x0, x1, x2} -> d
{x0, x1, x2} -> y
d -> y
query q: ate(d -> y) using ols
"""


def test_matching_cross_check_of_ols_runs_on_a_subsample_and_says_so() -> None:
    model = causal_dsl.parse(STUDY)
    frame = _frame(3000)
    r = planner.estimate(model, model.queries[0], data=frame, cross_check_rows=1000)
    assert r.cross_check is not None and r.cross_check.method == "matching"
    assert "random subsample of 1,000 of 3,000 rows (seed 0)" in r.cross_check.description
    notes = [c.message for c in r.checks if c.message.startswith("cross-check:")]
    assert len(notes) == 1 and "1,000 of the 3,000 rows" in notes[0]
    full = planner.estimate(model, model.queries[0], data=frame, cross_check_rows=None)
    assert full.cross_check is not None and "subsample" not in full.cross_check.description
    assert not [c for c in full.checks if c.message.startswith("cross-check:")]
    # the planned estimate itself does not depend on the cross-check
    assert full.result.estimate.effect == r.result.estimate.effect


@pytest.mark.parametrize("estimand", ["att", "atc", "ate"])
def test_balance_table_equals_the_copying_formulas(estimand: str) -> None:
    rng = np.random.default_rng(4)
    n = matching.BALANCE_CHUNK * 2 + 17  # several blocks and a ragged last one
    x = rng.normal(size=(n, 3)) * [1, 10, 0.1] + [0, 2000, -5]  # one column far from zero
    d = (rng.uniform(size=n) < 0.4).astype(float)
    w_t, w_c = rng.poisson(1.0, n) * d, rng.poisson(0.7, n) * (1 - d)
    table, _ = matching.balance_table(x, ["a", "b", "c"], d, w_t, w_c, estimand)
    t, c = d == 1, d == 0
    vt, vc = x[t].var(axis=0, ddof=1), x[c].var(axis=0, ddof=1)
    denom = {"att": np.sqrt(vt), "atc": np.sqrt(vc)}.get(estimand, np.sqrt((vt + vc) / 2))
    at = (w_t[t] @ x[t]) / w_t[t].sum()
    ac = (w_c[c] @ x[c]) / w_c[c].sum()
    var_t = (w_t[t] @ (x[t] - at) ** 2) / w_t[t].sum()
    var_c = (w_c[c] @ (x[c] - ac) ** 2) / w_c[c].sum()
    want = np.column_stack([x[t].mean(0), x[c].mean(0), (x[t].mean(0) - x[c].mean(0)) / denom,
                            at, ac, (at - ac) / denom, var_t / var_c])
    got = np.array([row[1:] for row in table.rows], dtype=float)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_warm_started_logit_reaches_the_statsmodels_maximum() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    n = 250_000  # above 2 x WARM_ROWS: subsample start and chord steps
    x = rng.normal(size=(n, 4)) * [1, 10, 100, 1] + [0, 0, 2000, 5]
    eta = x @ [0.3, 0.02, 0.001, -0.5] - 1.5
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    s = fit_logit(x, d, ["a", "b", "c", "e"])
    ref = sm.Logit(d, sm.add_constant(x)).fit(disp=0, tol=1e-12)
    assert s.converged
    np.testing.assert_allclose(s.coef, ref.params, rtol=1e-7)
    assert s.loglik == pytest.approx(ref.llf, rel=1e-12)


def test_chunked_neighbour_searches_equal_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    donors = np.sort(np.round(rng.normal(size=3000), 2))  # ties
    target = np.round(rng.normal(size=2000), 2)
    y, key = rng.normal(size=3000), np.round(rng.normal(size=3000), 2)
    whole = neighbours.nearest_sorted(target, donors, 2), neighbours.within_arm_variance(y, key)
    monkeypatch.setattr(neighbours, "CHUNK", 97)
    chunked = neighbours.nearest_sorted(target, donors, 2), neighbours.within_arm_variance(y, key)
    for a, b in zip(whole[0], chunked[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole[1], chunked[1])


CSVS = {
    "numbers": "a,b,c\n1,2.5,x\n3,,y\n5,inf,NA\n",
    "ints_with_missing": "a,b\n1,2\nNA,3\n4,\n",
    "dates_and_bools": "when,flag,t\n2020-01-01,true,1\n2020-01-02,False,0\n",
    "empty_column": "a,b\n1,\n2,\n",
    "spaces": "a,b\n 1.5,x \n2 , y\n",
    "quoted_missing": 'a,b\n"NA",1\n"",2\nz,3\n',
    "big_ints": "a\n18446744073709551615\n1\n",
    "ragged": "a,b\n1,2\n3\n",
}


@pytest.mark.parametrize("name", sorted(CSVS))
def test_arrow_reader_gives_pandas_frame(name: str, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(CSVS[name], encoding="utf-8")
    got = tables.read_table(path)
    header = CSVS[name].splitlines()[0].split(",")
    want = pd.read_csv(io.StringIO(CSVS[name]), keep_default_na=False,
                       na_values={h: list(tables.MISSING_SPELLINGS) for h in header})
    pd.testing.assert_frame_equal(got, want, check_dtype=True)


def _random_graph(n: int, seed: int) -> CausalGraph:
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(n)]
    edges = [(names[int(a)], names[j]) for j in range(1, n)
             for a in rng.choice(j, size=min(j, int(rng.integers(0, 3))), replace=False)]
    bidirected = [(names[2], names[7]), (names[10], names[40])]
    return CausalGraph(names, edges, bidirected, latents=[names[5], names[33]])


@pytest.mark.parametrize("seed", range(6))
def test_small_region_searches_agree_with_vectorised(seed: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sep, "FAST_MIN", 10)  # these graphs count as large
    answers = []
    for small in (2_000, 0):  # direct searches in small regions; always vectorised
        monkeypatch.setattr(sep, "SMALL_REGION", small)
        g = _random_graph(80, seed)
        found = []
        for t, y in (("v20", "v79"), ("v3", "v60"), ("v41", "v78")):
            if y not in g.descendants(t):
                continue
            found.append((g.adjustment_sets(t, y),
                          g.d_separated({t}, {y}, {"v0", "v1"}),
                          g.is_adjustment_set(t, y, g.parents(t))))
        answers.append(found)
    assert answers[0] == answers[1]
