"""Row weights (`data "f.csv" weights(w, kind = ...)`): analytic, frequency and survey weights
in OLS, DiD/TWFE and stratification, checked against independent implementations: statsmodels'
WLS (analytic/survey), the same regression on the data with each row repeated w times
(frequency), and pyfixest's weighted `feols` (WLS and two-way fixed effects with CRV1).
Estimators without a weighted form refuse (E508), never silently unweighting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import causal_dsl
from causal_dsl.errors import DataError, EstimationError, ModelError
from causal_dsl.estimators.ols import fit_linear

pyfixest = pytest.importorskip("pyfixest")


def _cross_section(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=n)
    d = (rng.normal(size=n) + c > 0).astype(int)
    y = 1.0 + 2.0 * d + 1.5 * c + rng.normal(size=n) * (1 + np.abs(c))
    return pd.DataFrame({"d": d, "c": c, "y": y, "w": rng.integers(1, 6, n).astype(float)})


STUDY = """data "d.csv" weights(w, kind = "{kind}")
var d: binary
var c: continuous
var y: continuous
c -> {{d, y}}
d -> y
query q: ate(d -> y) using ols({opts})
"""


def _run(tmp_path: Path, frame: pd.DataFrame, kind: str, opts: str = "") -> causal_dsl.Study:
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.causal").write_text(STUDY.format(kind=kind, opts=opts))
    return causal_dsl.load(tmp_path / "s.causal")


@pytest.mark.parametrize("se", ["HC1", "HC3", "nonrobust"])
def test_analytic_weights_match_statsmodels_wls(tmp_path: Path, se: str) -> None:
    frame = _cross_section()
    result = _run(tmp_path, frame, "analytic", f'se = "{se}"').estimate()
    x = sm.add_constant(frame[["d", "c"]])
    ref = sm.WLS(frame["y"], x, weights=frame["w"]).fit(cov_type=se)
    est = result.result.estimate
    assert est.effect == pytest.approx(ref.params["d"], abs=1e-10)
    assert est.se == pytest.approx(ref.bse["d"], rel=1e-10)
    assert "analytic weights" in est.se_kind


def test_survey_weights_match_pyfixest_and_refuse_nonrobust(tmp_path: Path) -> None:
    frame = _cross_section()
    est = _run(tmp_path, frame, "survey").estimate().result.estimate
    ref = pyfixest.feols("y ~ d + c", data=frame, weights="w", vcov="hetero")
    assert est.effect == pytest.approx(ref.coef()["d"], abs=1e-10)
    assert est.se == pytest.approx(ref.se()["d"], rel=1e-8)
    with pytest.raises(EstimationError) as info:
        _run(tmp_path, frame, "survey", 'se = "nonrobust"').estimate()
    assert info.value.diagnostics[0].code == "E508"


@pytest.mark.parametrize("se", ["HC1", "HC2", "nonrobust"])
def test_frequency_weights_equal_the_expanded_data(tmp_path: Path, se: str) -> None:
    frame = _cross_section(n=150)
    est = _run(tmp_path, frame, "frequency", f'se = "{se}"').estimate().result.estimate
    expanded = frame.loc[frame.index.repeat(frame["w"].astype(int))]
    x = sm.add_constant(expanded[["d", "c"]]).to_numpy()
    ref = sm.OLS(expanded["y"].to_numpy(), x).fit(cov_type=se)
    assert est.effect == pytest.approx(ref.params[1], abs=1e-10)
    assert est.se == pytest.approx(ref.bse[1], rel=1e-10)
    assert est.n == len(expanded)
    # and statsmodels' GLM with freq_weights, for the classical standard error
    if se == "nonrobust":
        glm = sm.GLM(frame["y"], sm.add_constant(frame[["d", "c"]]),
                     freq_weights=frame["w"]).fit()
        assert est.se == pytest.approx(glm.bse["d"], rel=1e-8)


def test_frequency_cluster_equals_expanded() -> None:
    rng = np.random.default_rng(0)
    n = 120
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = x @ [1.0, 2.0] + rng.normal(size=n)
    w = rng.integers(1, 4, n).astype(float)
    g = rng.integers(0, 15, n)
    reps = w.astype(int)
    a = fit_linear(x, y, ["1", "x"], se="cluster", clusters=g, weights=w,
                   weight_kind="frequency")
    b = fit_linear(np.repeat(x, reps, axis=0), np.repeat(y, reps), ["1", "x"], se="cluster",
                   clusters=np.repeat(g, reps))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)


def test_bad_weights_are_dropped_counted_and_reported(tmp_path: Path) -> None:
    frame = _cross_section()
    frame.loc[:4, "w"] = np.nan
    frame.loc[5:7, "w"] = -1.0
    frame.loc[8, "w"] = 0.0
    result = _run(tmp_path, frame, "analytic").estimate()
    sample = result.sample
    assert sample.rows_used == len(frame) - 9
    counts = dict(sample.missing_by_column)
    assert counts["w (weight missing)"] == 5
    assert counts["w (weight negative)"] == 3
    assert counts["w (weight zero)"] == 1
    assert "w (weight negative): 3" in sample.describe()
    kept = frame.iloc[9:]
    ref = sm.WLS(kept["y"], sm.add_constant(kept[["d", "c"]]), weights=kept["w"]).fit(
        cov_type="HC1")
    assert result.result.estimate.effect == pytest.approx(ref.params["d"], abs=1e-10)


def test_fractional_frequency_weights_and_text_weights_are_errors(tmp_path: Path) -> None:
    frame = _cross_section()
    frame["w"] = frame["w"] + 0.5
    with pytest.raises(DataError) as info:
        _run(tmp_path, frame, "frequency").estimate()
    assert info.value.diagnostics[0].code == "E408"
    frame["w"] = frame["w"].astype(str).str.replace("1.5", "many")
    with pytest.raises(DataError) as info:
        _run(tmp_path, frame, "analytic").estimate()
    assert info.value.diagnostics[0].code == "E406"


def test_weights_need_a_known_kind() -> None:
    with pytest.raises(ModelError) as info:
        causal_dsl.parse('data "d.csv" weights(w)\n')
    assert info.value.diagnostics[0].code == "E228"
    with pytest.raises(ModelError) as info:
        causal_dsl.parse('data "d.csv" weights(w, kind = "analytc")\n')
    assert "analytic" in (info.value.diagnostics[0].help or "")


def test_weighted_twfe_matches_pyfixest(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    units, periods = 40, 6
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    start = np.where(np.arange(units) < 20, 3, 99)[u]
    d = (t >= start).astype(int)
    y = 0.5 * u / units + 0.2 * t + 1.5 * d + rng.normal(size=len(u))
    w = rng.uniform(0.5, 3.0, units)[u]  # a population weight per unit
    frame = pd.DataFrame({"u": u, "t": t, "d": d, "y": y, "w": w})
    frame.to_csv(tmp_path / "p.csv", index=False)
    (tmp_path / "s.causal").write_text(
        'data "p.csv" panel(unit = u, time = t) weights(w, kind = "analytic")\n'
        "var d: binary\nvar y: continuous\nlatent a invariant\na -> {d, y}\nd -> y\n"
        "query q: att(d -> y) using did(event_study = false)\n")
    est = causal_dsl.load(tmp_path / "s.causal").estimate().result.estimate
    ref = pyfixest.feols("y ~ d | u + t", data=frame, weights="w", vcov={"CRV1": "u"})
    assert est.effect == pytest.approx(ref.coef()["d"], abs=1e-9)
    # The one difference is the documented K of the CR1 factor (N−1)/(N−K): reghdfe's K = 1 +
    # (T − 1) period effects here, pyfixest's default counts T (k_fixef = "nonnested").
    n, k_ours, k_pyfixest = len(frame), 1 + (periods - 1), 1 + periods
    factor = np.sqrt((n - k_pyfixest) / (n - k_ours))
    assert est.se == pytest.approx(ref.se()["d"] * factor, rel=1e-9)


def test_weighted_stratification_is_the_weighted_cell_contrast(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 600
    g = rng.integers(0, 3, n)
    d = (rng.uniform(size=n) < 0.3 + 0.15 * g).astype(int)
    y = g + 2.0 * d + rng.normal(size=n)
    w = rng.integers(1, 4, n).astype(float)
    frame = pd.DataFrame({"g": g, "d": d, "y": y, "w": w})
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.causal").write_text(
        'data "d.csv" weights(w, kind = "frequency")\nvar g: categorical(0, 1, 2)\n'
        "var d: binary\nvar y: continuous\ng -> {d, y}\nd -> y\n"
        "query q: ate(d -> y) using stratification\n")
    est = causal_dsl.load(tmp_path / "s.causal").estimate().result.estimate
    # by hand on the expanded data: Σ_c share_c (ȳ1c − ȳ0c)
    big = frame.loc[frame.index.repeat(frame["w"].astype(int))]
    means = big.groupby(["g", "d"])["y"].mean().unstack()
    share = big.groupby("g").size() / len(big)
    assert est.effect == pytest.approx(float((share * (means[1] - means[0])).sum()), abs=1e-10)
    # the expanded data unweighted gives the same estimate and standard error
    big.drop(columns="w").to_csv(tmp_path / "big.csv", index=False)
    (tmp_path / "b.causal").write_text(
        (tmp_path / "s.causal").read_text().replace(
            'data "d.csv" weights(w, kind = "frequency")', 'data "big.csv"'))
    plain = causal_dsl.load(tmp_path / "b.causal").estimate().result.estimate
    assert est.se == pytest.approx(plain.se, rel=1e-10)


def test_matching_refuses_frequency_weights_unlike_the_expanded_data(tmp_path: Path) -> None:
    # weighted matching itself: tests/test_weights_matching.py; k = 2 is not the expanded data
    frame = _cross_section()
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.causal").write_text(STUDY.format(kind="frequency", opts="").replace(
        "using ols()", "using matching(k = 2)"))
    with pytest.raises(EstimationError) as info:
        causal_dsl.load(tmp_path / "s.causal").estimate()
    assert info.value.diagnostics[0].code == "E508"
    assert "frequency weights" in info.value.diagnostics[0].message
