"""Row weights in the estimators added after OLS/DiD/stratification: IV (weighted 2SLS against
`linearmodels.IV2SLS(weights=...)`), the front-door estimator, the staggered-adoption estimator
(Callaway–Sant'Anna, the `did` package's ``weightsname``) and matching (weighted score model,
MatchIt's ``s.weights``, cobalt's weighted balance table). Frequency weights always equal the
fit on the data with each row repeated w times."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from causal_dsl.errors import EstimationError
from causal_dsl.estimators import ESTIMATORS
from causal_dsl.estimators.common import Design

linearmodels = pytest.importorskip("linearmodels")


def _expand(frame: pd.DataFrame, w: np.ndarray) -> pd.DataFrame:
    return frame.loc[frame.index.repeat(w.astype(int))].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# iv
# --------------------------------------------------------------------------------------------
def _endogenous(n: int = 500, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    z1, z2 = rng.normal(size=n), rng.binomial(1, 0.5, n).astype(float)
    u = rng.normal(size=n)
    d = 0.6 * z1 + 0.3 * z2 + 0.5 * w + u + rng.normal(size=n)
    y = 1 + 2 * d + w + 2 * u + rng.normal(size=n) * (1 + np.abs(z1))
    return pd.DataFrame({"y": y, "d": d, "w": w, "z1": z1, "z2": z2, "const": 1.0,
                         "g": rng.integers(0, 30, n), "pw": rng.integers(1, 5, n).astype(float)})


def _iv_design(frame: pd.DataFrame, kind: str, inst: tuple[str, ...], se: str) -> Design:
    opts: dict[str, object] = {"instrument": inst}
    if se != "cluster":
        opts["se"] = se
    return Design("d", "y", "ate", ("w",), options=opts, treatment_kind="continuous",
                  cluster="g" if se == "cluster" else None,
                  weights=frame["pw"].to_numpy(), weight_kind=kind)


@pytest.mark.parametrize(("se", "cov_type", "debiased"), [
    ("HC1", "robust", True), ("HC0", "robust", False), ("nonrobust", "unadjusted", True),
    ("cluster", "clustered", True)])
@pytest.mark.parametrize("inst", [("z1",), ("z1", "z2")])
def test_weighted_2sls_equals_linearmodels(se: str, cov_type: str, debiased: bool,
                                           inst: tuple[str, ...]) -> None:
    from linearmodels.iv import IV2SLS
    frame = _endogenous()
    r = ESTIMATORS["iv"](frame, _iv_design(frame, "analytic", inst, se), frame[["g"]])
    kw = {"clusters": frame["g"]} if cov_type == "clustered" else {}
    ref = IV2SLS(frame["y"], frame[["const", "w"]], frame["d"], frame[list(inst)],
                 weights=frame["pw"]).fit(cov_type=cov_type, debiased=debiased, **kw)
    np.testing.assert_allclose(r.estimate.effect, ref.params["d"], rtol=1e-8)
    np.testing.assert_allclose(r.estimate.se, ref.std_errors["d"], rtol=1e-8)
    assert "analytic weights" in r.estimate.se_kind
    if len(inst) == 2:
        np.testing.assert_allclose(r.detail("overid_sargan")[0], ref.sargan.stat, rtol=1e-8)
    stat = float(ref.first_stage.diagnostics.loc["d", "f.stat"])
    expected = stat if cov_type == "unadjusted" else stat / len(inst)
    np.testing.assert_allclose(r.detail("first_stage_f"), expected, rtol=1e-8)


@pytest.mark.parametrize("se", ["HC1", "HC0", "nonrobust", "cluster"])
def test_frequency_weighted_2sls_equals_the_expanded_data(se: str) -> None:
    frame = _endogenous(n=200)
    r = ESTIMATORS["iv"](frame, _iv_design(frame, "frequency", ("z1", "z2"), se), frame[["g"]])
    big = _expand(frame, frame["pw"].to_numpy())
    plain = replace(_iv_design(big, "frequency", ("z1", "z2"), se), weights=None,
                    weight_kind=None)
    ref = ESTIMATORS["iv"](big, plain, big[["g"]])
    for got, want in [(r.estimate.effect, ref.estimate.effect), (r.estimate.se, ref.estimate.se),
                      (r.detail("first_stage_f"), ref.detail("first_stage_f")),
                      (r.detail("effective_f"), ref.detail("effective_f")),
                      (r.detail("overid_sargan")[0], ref.detail("overid_sargan")[0])]:
        np.testing.assert_allclose(got, want, rtol=1e-9)
    np.testing.assert_allclose(np.array(r.detail("ar_set")), np.array(ref.detail("ar_set")),
                               rtol=1e-7)
    if se != "nonrobust":
        np.testing.assert_allclose(r.detail("overid_hansen")[0], ref.detail("overid_hansen")[0],
                                   rtol=1e-9)
    assert r.estimate.n == len(big)


def test_survey_weighted_iv_refuses_classical_errors() -> None:
    frame = _endogenous()
    with pytest.raises(EstimationError) as info:
        ESTIMATORS["iv"](frame, _iv_design(frame, "survey", ("z1",), "nonrobust"), None)
    assert info.value.diagnostics[0].code == "E508"


# --------------------------------------------------------------------------------------------
# frontdoor
# --------------------------------------------------------------------------------------------
def _fd_world(n: int, seed: int, binary: bool) -> pd.DataFrame:
    """u confounds x and y; x -> m -> y carries the effect; weights w in 1..4."""
    rng = np.random.default_rng(seed)
    u = rng.binomial(1, 0.5, n) if binary else rng.normal(size=n)
    if binary:
        x = rng.binomial(1, 0.2 + 0.6 * u).astype(float)
        m = rng.binomial(1, np.where(x == 1, 0.8, 0.3)).astype(float)
        y = m + 0.5 * m * u + 2.0 * u + rng.normal(size=n)
    else:
        x = u + rng.normal(size=n)
        m = 0.8 * x + rng.normal(size=n)
        y = 1.5 * m + 2 * u + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y, "w": rng.integers(1, 5, n).astype(float)})


def _fd(frame: pd.DataFrame | None, kind: str, estimand: str = "ate", binary: bool = True,
        **opts: object) -> Design:
    return Design("x", "y", estimand, (), options={"mediators": ("m",), **opts},
                  treatment_kind="binary" if binary else "continuous", seed=3,
                  weights=None if frame is None else frame["w"].to_numpy(), weight_kind=kind)


def test_weighted_linear_front_door_is_the_product_of_wls_coefficients() -> None:
    import statsmodels.api as sm
    frame = _fd_world(800, 1, binary=False)
    r = ESTIMATORS["frontdoor"](frame, _fd(frame, "analytic", binary=False), None)
    wls_a = sm.WLS(frame["m"], sm.add_constant(frame[["x"]]), weights=frame["w"]).fit(
        cov_type="HC1")
    wls_b = sm.WLS(frame["y"], sm.add_constant(frame[["x", "m"]]), weights=frame["w"]).fit(
        cov_type="HC1")
    a, b = wls_a.params["x"], wls_b.params["m"]
    np.testing.assert_allclose(r.estimate.effect, a * b, rtol=1e-10)
    rows = {row[0]: row for row in r.table("Front-door regressions").rows}
    # the diagonal blocks of the joint sandwich are the WLS HC1 covariances
    np.testing.assert_allclose(rows["m on treatment (a)"][2], wls_a.bse["x"], rtol=1e-10)
    np.testing.assert_allclose(rows["outcome on m given treatment (b)"][2], wls_b.bse["m"],
                               rtol=1e-10)
    assert "analytic weights" in r.estimate.se_kind


@pytest.mark.parametrize(("binary", "estimand", "se"), [
    (False, "ate", "delta"), (True, "ate", "delta"), (True, "att", "delta"),
    (True, "atc", "delta"), (True, "ate", "bootstrap"), (False, "ate", "bootstrap")])
def test_frequency_weighted_front_door_equals_the_expanded_data(binary: bool, estimand: str,
                                                                se: str) -> None:
    frame = _fd_world(300, 2, binary)
    opts = {"se": se, "bootstrap": 60} if se == "bootstrap" else {}
    r = ESTIMATORS["frontdoor"](frame, _fd(frame, "frequency", estimand, binary, **opts), None)
    big = _expand(frame, frame["w"].to_numpy())
    ref = ESTIMATORS["frontdoor"](big, _fd(None, "", estimand, binary, **opts), None)
    np.testing.assert_allclose(r.estimate.effect, ref.estimate.effect, rtol=1e-10)
    np.testing.assert_allclose(r.estimate.se, ref.estimate.se, rtol=1e-9)
    assert r.estimate.n == len(big)


def test_weighted_plugin_front_door_by_hand_and_covers_truth() -> None:
    """The plug-in formula with weighted probabilities and means, computed by hand; with weights
    independent of the data the effect is unchanged, and the interval covers it."""
    frame = _fd_world(4000, 5, binary=True)
    r = ESTIMATORS["frontdoor"](frame, _fd(frame, "survey"), None)
    w, x, m, y = (frame[c].to_numpy() for c in ("w", "x", "m", "y"))
    px1 = w[x == 1].sum() / w.sum()
    def mu(mv: float, xv: float) -> float:
        s = (m == mv) & (x == xv)
        return float(np.average(y[s], weights=w[s]))
    def pm(mv: float, xv: float) -> float:
        return float(w[(m == mv) & (x == xv)].sum() / w[x == xv].sum())
    do = [sum(pm(mv, xv) * (mu(mv, 0) * (1 - px1) + mu(mv, 1) * px1) for mv in (0, 1))
          for xv in (0, 1)]
    np.testing.assert_allclose(r.estimate.effect, do[1] - do[0], rtol=1e-10)
    truth = 0.5 * (1 + 0.5 * 0.5)  # weights independent of everything: the ATE is unchanged
    assert r.estimate.ci_low < truth < r.estimate.ci_high


# --------------------------------------------------------------------------------------------
# staggered adoption (Callaway–Sant'Anna with did's weightsname)
# --------------------------------------------------------------------------------------------
def _stag_panel(units: int = 400, periods: int = 5, seed: int = 11
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cohorts adopting in periods 2, 3 and never; effects grow with exposure; a unit weight
    1..4 that is correlated with the cohort (weighted and unweighted answers differ)."""
    rng = np.random.default_rng(seed)
    adopt = rng.choice([2, 3, 99], size=units, p=[0.3, 0.3, 0.4])
    w_unit = np.where(adopt == 2, rng.integers(1, 5, units), rng.integers(1, 3, units))
    u, t = np.repeat(np.arange(units), periods), np.tile(np.arange(periods), units)
    d = (t >= adopt[u]).astype(float)
    alpha = rng.normal(size=units)
    y = alpha[u] + 0.3 * t + d * (1 + 0.5 * (t - adopt[u])) * (1 + 0.3 * w_unit[u]) \
        + rng.normal(size=len(u))
    frame = pd.DataFrame({"d": d, "y": y, "pw": w_unit[u].astype(float)})
    return frame, pd.DataFrame({"u": u, "t": t, "s": u % 37})


def _stag(frame: pd.DataFrame, extra: pd.DataFrame, kind: str | None, **opts: object):  # type: ignore[no-untyped-def]
    cluster = opts.pop("cluster", None)
    design = Design("d", "y", "att", unit="u", time="t", options=opts, seed=7,
                    cluster=cluster,  # type: ignore[arg-type]
                    weights=None if kind is None else frame["pw"].to_numpy(), weight_kind=kind)
    return ESTIMATORS["callaway_santanna"](frame, design, extra)


def _stag_cells(result) -> dict[tuple[int, int], tuple[float, float]]:  # type: ignore[no-untyped-def]
    return {(r[0], r[1]): (r[3], r[4]) for r in result.table("group-time").rows}


@pytest.mark.parametrize(("control", "cluster"), [("never", None), ("notyet", None),
                                                  ("never", "s")])
def test_weighted_staggered_agrees_with_csdid_weights_name(control: str,
                                                           cluster: str | None) -> None:
    import contextlib
    import io
    import warnings
    att_gt = pytest.importorskip("csdid.att_gt")
    frame, extra = _stag_panel()
    r = _stag(frame, extra, "survey", control=control, cluster=cluster)
    d, u, t = frame["d"].to_numpy(), extra["u"].to_numpy(), extra["t"].to_numpy()
    first = pd.Series(np.where(d == 1, t, 10**6)).groupby(u).transform("min").to_numpy()
    long = pd.DataFrame({"y": frame["y"], "t": t + 1, "u": u, "s": extra["s"],
                         "g": np.where(first < 10**6, first + 1, 0), "pw": frame["pw"]})
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = att_gt.ATTgt(yname="y", tname="t", idname="u", gname="g", data=long,
                         weights_name="pw", clustervar=cluster,
                         control_group="nevertreated" if control == "never" else
                         "notyettreated").fit(est_method="dr", bstrap=False)
        ref = {(int(g) - 1, int(tt) - 1): (a, s) for g, tt, a, s in zip(
            m.results["group"], m.results["year"], m.results["att"], m.results["se"],
            strict=True)}
        agg = {}
        for kind in ("simple", "group", "dynamic"):
            m.aggte(typec=kind, bstrap=False)
            agg[kind] = (float(m.atte["overall_att"]), float(m.atte["overall_se"]))
    ours = _stag_cells(r)
    assert set(ours) == set(ref)
    for key, (a, s) in ref.items():
        assert ours[key][0] == pytest.approx(a, abs=1e-9)
        assert ours[key][1] == pytest.approx(s, rel=1e-7)
    for kind, (a, s) in agg.items():
        assert r.detail(f"att_{kind}") == pytest.approx(a, abs=1e-9)
        assert r.detail(f"se_{kind}") == pytest.approx(s, rel=1e-7)
    unweighted = _stag(frame, extra, None, control=control)
    assert abs(unweighted.estimate.effect - r.estimate.effect) > 0.05  # the weights matter
    assert "weightsname" in r.estimate.se_kind


def _expand_panel(frame: pd.DataFrame, extra: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each unit repeated w times as new units numbered so that a unit's copies are adjacent
    and in the order of the original units."""
    w = frame["pw"].to_numpy().astype(int)
    u = extra["u"].to_numpy()
    rows, new_u = [], []
    offset = np.concatenate([[0], np.cumsum(pd.Series(w).groupby(u).first().to_numpy())])
    for i in range(len(frame)):
        for c in range(w[i]):
            rows.append(i)
            new_u.append(offset[u[i]] + c)
    big = frame.iloc[rows].reset_index(drop=True)
    ex = extra.iloc[rows].reset_index(drop=True).assign(u=new_u)
    return big, ex


@pytest.mark.parametrize("opts", [{}, {"control": "notyet"}, {"cluster": "s"},
                                  {"bootstrap": 199}, {"bootstrap": 199, "cluster": "s"}])
def test_frequency_weighted_staggered_equals_the_expanded_panel(opts: dict[str, object]) -> None:
    frame, extra = _stag_panel(units=120)
    r = _stag(frame, extra, "frequency", **dict(opts))
    big, ex = _expand_panel(frame, extra)
    ref = _stag(big, ex, None, **dict(opts))
    ours, theirs = _stag_cells(r), _stag_cells(ref)
    assert set(ours) == set(theirs)
    for key, (a, s) in theirs.items():
        assert ours[key][0] == pytest.approx(a, abs=1e-10)
        assert ours[key][1] == pytest.approx(s, rel=1e-9)
    for name in ("att_simple", "se_simple", "se_group", "se_dynamic", "pretrend_W", "twfe",
                 "units"):
        assert r.detail(name) == pytest.approx(ref.detail(name), rel=1e-9)
    assert r.estimate.n == ref.estimate.n


def test_staggered_refuses_weights_that_change_within_a_unit() -> None:
    frame, extra = _stag_panel(units=50)
    frame.loc[3, "pw"] += 1.0
    with pytest.raises(EstimationError) as info:
        _stag(frame, extra, "analytic")
    assert info.value.diagnostics[0].code == "E508"
    assert "change within a u" in info.value.diagnostics[0].message


# --------------------------------------------------------------------------------------------
# the weighted propensity score (matching's score model)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [300, 120_000])  # the large one takes the warm start
def test_weighted_logit_equals_statsmodels_glm_freq_and_var_weights(n: int) -> None:
    import statsmodels.api as sm

    from causal_dsl.estimators.propensity import fit_logit
    rng = np.random.default_rng(9)
    x = rng.normal(size=(n, 3))
    d = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + x @ [0.8, -0.5, 0.2])))).astype(float)
    w = rng.integers(1, 6, n).astype(float)
    score = fit_logit(x, d, ["a", "b", "c"], weights=w)
    assert score.converged
    xc = sm.add_constant(x)
    for kw in ({"freq_weights": w}, {"var_weights": w}):
        ref = sm.GLM(d, xc, family=sm.families.Binomial(), **kw).fit(tol=1e-14)
        np.testing.assert_allclose(score.coef, ref.params, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(score.loglik, ref.llf, rtol=1e-8)
    if n < 1000:  # frequency weights: the fit on the rows repeated w times
        rep = np.repeat(np.arange(n), w.astype(int))
        expanded = fit_logit(x[rep], d[rep], ["a", "b", "c"])
        np.testing.assert_allclose(score.coef, expanded.coef, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(score.loglik, expanded.loglik, rtol=1e-10)
    unweighted = fit_logit(x, d, ["a", "b", "c"])
    assert not np.allclose(unweighted.coef, score.coef)


def test_matching_refuses_a_weighted_abadie_imbens_variance_with_the_reason() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"d": rng.integers(0, 2, 80).astype(float),
                          "c": rng.normal(size=80), "y": rng.normal(size=80)})
    design = Design("d", "y", "att", ("c",), {"se": "abadie-imbens"}, weights=np.ones(80),
                    weight_kind="survey")
    with pytest.raises(EstimationError) as info:
        ESTIMATORS["matching"](frame, design, None)
    assert info.value.diagnostics[0].code == "E508"
