"""Instrumental variables: 2SLS and its diagnostics against linearmodels, simulated truth (a
latent confounder with a valid instrument, a weak instrument, a LATE), the graph assumptions
behind an instrument, and Wooldridge's return-to-education estimates on the mroz data."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS, IVGMM

from causal_dsl.errors import EstimationError
from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.iv import (
    MOP_CRITICAL,
    WEAK_F,
    _ARStat,
    ar_confidence_set,
    instrument_arrows,
    is_instrument,
)
from causal_dsl.estimators.ols import fit_linear

iv = ESTIMATORS["iv"]
ROOT = Path(__file__).resolve().parent.parent


def endogenous(n: int = 600, seed: int = 0, strength: float = 0.6, effect: float = 2.0,
               hetero: bool = True) -> pd.DataFrame:
    """d is confounded by a latent u; z1, z2 move d and reach y only through it; w is a
    covariate of both. Errors are heteroskedastic in z1 (robust SEs differ from classical)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n)
    z1 = rng.normal(size=n)
    z2 = rng.binomial(1, 0.5, n).astype(float)
    u = rng.normal(size=n)
    d = strength * z1 + 0.5 * strength * z2 + 0.5 * w + u + rng.normal(size=n)
    noise = rng.normal(size=n) * ((1 + np.abs(z1)) if hetero else 1.0)
    y = 1 + effect * d + w + 2 * u + noise
    return pd.DataFrame({"y": y, "d": d, "w": w, "z1": z1, "z2": z2,
                         "g": rng.integers(0, 40, n), "const": 1.0})


def design(inst: tuple[str, ...] = ("z1", "z2"), covs: tuple[str, ...] = ("w",), **opts: object
           ) -> Design:
    return Design("d", "y", "ate", covs, options={"instrument": inst, **opts},
                  treatment_kind="continuous", cluster=opts.get("cluster"))  # type: ignore[arg-type]


def reference(frame: pd.DataFrame, inst: list[str], covs: list[str], cov_type: str,
              debiased: bool = True) -> object:
    kw = {"clusters": frame["g"]} if cov_type == "clustered" else {}
    return IV2SLS(frame["y"], frame[["const", *covs]], frame["d"], frame[inst]).fit(
        cov_type=cov_type, debiased=debiased, **kw)


# --------------------------------------------------------------------------------------------
# against linearmodels
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("se", "cov_type", "debiased"), [
    ("HC1", "robust", True), ("HC0", "robust", False), ("nonrobust", "unadjusted", True),
    ("cluster", "clustered", True),
])
@pytest.mark.parametrize("inst", [("z1",), ("z1", "z2")])
def test_2sls_equals_linearmodels(se: str, cov_type: str, debiased: bool,
                                  inst: tuple[str, ...]) -> None:
    frame = endogenous()
    opts = {"se": se} if se != "cluster" else {"cluster": "g"}
    r = iv(frame, design(inst, **opts), frame[["g"]])
    ref = reference(frame, list(inst), ["w"], cov_type, debiased)
    np.testing.assert_allclose(r.estimate.effect, ref.params["d"], rtol=1e-8)  # type: ignore[attr-defined]
    np.testing.assert_allclose(r.estimate.se, ref.std_errors["d"], rtol=1e-8)  # type: ignore[attr-defined]
    table = r.table("Second stage")
    assert table is not None
    coefs = {row[0]: row[2] for row in table.rows}
    np.testing.assert_allclose(coefs["w"], ref.std_errors["w"], rtol=1e-8)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("se", "cov_type"), [("HC1", "robust"), ("nonrobust", "unadjusted"),
                                              ("cluster", "clustered")])
def test_first_stage_f_equals_linearmodels(se: str, cov_type: str) -> None:
    frame = endogenous()
    opts = {"se": se} if se != "cluster" else {"cluster": "g"}
    r = iv(frame, design(**opts), frame[["g"]])
    ref = reference(frame, ["z1", "z2"], ["w"], cov_type)
    stat = float(ref.first_stage.diagnostics.loc["d", "f.stat"])  # type: ignore[attr-defined]
    # linearmodels reports the robust statistic as a chi² Wald, the classical one divided by L
    expected = stat if cov_type == "unadjusted" else stat / 2
    np.testing.assert_allclose(r.detail("first_stage_f"), expected, rtol=1e-8)


def test_effective_f_by_its_definition() -> None:
    """Montiel Olea & Pflueger's formula with instruments orthonormalised after partialling out
    the covariates: F_eff = Ŷ'ZZ'Ŷ / (n·tr(Ŵ₂)), Ŵ₂ the robust variance of Z'v/√n."""
    frame = endogenous(seed=4)
    r = iv(frame, design(se="HC1"), None)
    n = len(frame)
    w = frame[["const", "w"]].to_numpy()
    resid = lambda v: v - w @ np.linalg.lstsq(w, v, rcond=None)[0]  # noqa: E731
    zt = resid(frame[["z1", "z2"]].to_numpy())
    dt = resid(frame["d"].to_numpy())
    # orthonormalise: Z'Z/n = I
    c = np.linalg.cholesky(zt.T @ zt / n)
    zn = zt @ np.linalg.inv(c).T
    pi = zn.T @ dt / n
    v = dt - zn @ pi
    kz = 4
    w2 = (zn * v[:, None] ** 2).T @ zn / n * n / (n - kz)  # HC1, as the first stage
    f_eff = float(dt @ zn @ zn.T @ dt) / (n * np.trace(w2))
    np.testing.assert_allclose(r.detail("effective_f"), f_eff, rtol=1e-8)
    # one instrument: the effective F is the robust F; classical errors: the textbook F
    one = iv(frame, design(("z1",), se="HC1"), None)
    np.testing.assert_allclose(one.detail("effective_f"), one.detail("first_stage_f"), rtol=1e-10)
    classic = iv(frame, design(se="nonrobust"), None)
    np.testing.assert_allclose(classic.detail("effective_f"), classic.detail("first_stage_f"),
                               rtol=1e-10)


@pytest.mark.parametrize(("se", "weight", "kw"), [("HC1", "robust", {}),
                                                  ("cluster", "clustered", {"g": True})])
def test_overidentification_tests_equal_linearmodels(se: str, weight: str, kw: dict) -> None:
    frame = endogenous(seed=2)
    opts = {"se": se} if se != "cluster" else {"cluster": "g"}
    r = iv(frame, design(**opts), frame[["g"]])
    ref = reference(frame, ["z1", "z2"], ["w"], "robust")
    gmm_kw = {"clusters": frame["g"].to_numpy()} if kw else {}
    gmm = IVGMM(frame["y"], frame[["const", "w"]], frame["d"], frame[["z1", "z2"]],
                weight_type=weight, **gmm_kw).fit(cov_type="robust")
    sargan = r.detail("overid_sargan")
    hansen = r.detail("overid_hansen")
    np.testing.assert_allclose(sargan[0], ref.sargan.stat, rtol=1e-8)  # type: ignore[attr-defined]
    np.testing.assert_allclose(sargan[2], ref.sargan.pval, rtol=1e-8)  # type: ignore[attr-defined]
    np.testing.assert_allclose(hansen[0], gmm.j_stat.stat, rtol=1e-8)
    assert sargan[1] == hansen[1] == 1
    just = iv(frame, design(("z1",), se=se, **({"cluster": "g"} if kw else {})), frame[["g"]])
    assert just.detail("overid_sargan") is None  # exactly identified: nothing to test


# --------------------------------------------------------------------------------------------
# Anderson–Rubin
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("se", ["HC1", "nonrobust", "cluster"])
def test_ar_statistic_is_the_reduced_form_wald(se: str) -> None:
    """AR(β₀) is the Wald test (same covariance) of the instruments in y − β₀d on all of them."""
    frame = endogenous(seed=5)
    y, d = frame["y"].to_numpy(), frame["d"].to_numpy()
    zx, w = frame[["z1", "z2"]].to_numpy(), frame[["const", "w"]].to_numpy()
    codes = frame["g"].to_numpy() if se == "cluster" else None
    g = len(np.unique(codes)) if codes is not None else 0
    stat = _ARStat(y, d, zx, w, se, pd.factorize(codes)[0] if codes is not None else None, g)
    for b0 in (-1.0, 0.0, 2.0, 7.5):
        fit = fit_linear(np.column_stack([w, zx]), y - b0 * d, ["c", "w", "z1", "z2"], se=se,
                         clusters=codes)
        pi, v = fit.params[2:], fit.cov[2:, 2:]
        np.testing.assert_allclose(stat(b0), pi @ np.linalg.solve(v, pi) / 2, rtol=1e-9)


def test_ar_set_endpoints_and_grid_agree_with_closed_form() -> None:
    frame = endogenous(seed=6, strength=0.15)
    y, d = frame["y"].to_numpy(), frame["d"].to_numpy()
    stat = _ARStat(y, d, frame[["z1"]].to_numpy(), frame[["const", "w"]].to_numpy(), "HC1",
                   None, 0)
    exact = ar_confidence_set(stat, 2.0, 0.5)
    c = stat.critical(0.95)
    for lo, hi in exact.intervals:
        for end in (lo, hi):
            if np.isfinite(end):
                np.testing.assert_allclose(stat(end), c, rtol=1e-7)
    # the grid search used with several instruments finds the same set
    grid = _grid(stat, 2.0, 0.5)
    assert len(grid.intervals) == len(exact.intervals)
    for (a, b), (e, f) in zip(grid.intervals, exact.intervals, strict=True):
        for u, v in ((a, e), (b, f)):
            assert (u == v) or np.isclose(u, v, rtol=1e-6)


def _grid(stat: _ARStat, center: float, scale: float) -> object:
    class Shim:
        L = 2  # take the grid branch; the statistic itself is unchanged

        def __call__(self, b: float) -> float:
            return stat(b)

        def at_infinity(self) -> float:
            return stat.at_infinity()

        def critical(self, level: float) -> float:
            return stat.critical(level)

    return ar_confidence_set(Shim(), center, scale)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# simulated truth
# --------------------------------------------------------------------------------------------
def test_latent_confounder_2sls_covers_truth_and_ols_does_not() -> None:
    frame = endogenous(n=4000, seed=12, strength=1.0)
    r = iv(frame, design(), None)
    ols = ESTIMATORS["ols"](frame, Design("d", "y", "ate", ("w",), treatment_kind="continuous"),
                            None)
    assert r.estimate.covers(2.0)
    assert not ols.estimate.covers(2.0)
    assert r.detail("effective_f") > MOP_CRITICAL
    assert not r.warnings
    assert r.detail("ar_bounded")
    lo, hi = r.detail("ar_set")[0]
    assert lo < 2.0 < hi


def test_weak_instrument_warns_and_ar_is_honest() -> None:
    """A weak instrument with strong confounding: the warning fires, the AR set is wide, and
    over repeated samples the 2SLS t interval under-covers while the AR set covers."""
    t_cover = ar_cover = 0
    warned = wide = 0
    reps = 300
    for seed in range(reps):
        rng = np.random.default_rng(1000 + seed)
        n = 400
        z = rng.normal(size=n)
        u = rng.normal(size=n)
        d = 0.03 * z + u + 0.3 * rng.normal(size=n)
        y = 1.0 * d - 3 * u + rng.normal(size=n)
        frame = pd.DataFrame({"y": y, "d": d, "z": z})
        r = iv(frame, Design("d", "y", "ate", (), options={"instrument": ("z",)},
                             treatment_kind="continuous"), None)
        t_cover += r.estimate.covers(1.0)
        ar_cover += any(a <= 1.0 <= b for a, b in r.detail("ar_set"))
        warned += r.detail("effective_f") < WEAK_F and any("weak instruments" in m
                                                           for m in r.warnings)
        intervals = r.detail("ar_set")
        width = sum(b - a for a, b in intervals)
        wide += (not r.detail("ar_bounded")) or width > 3 * (r.estimate.ci_high -
                                                             r.estimate.ci_low)
    assert warned > 0.9 * reps
    assert wide > 0.5 * reps
    assert t_cover / reps < 0.85  # the 2SLS interval is misleading
    assert ar_cover / reps > 0.93  # the AR set keeps its 95%


def test_binary_treatment_gives_the_late_of_compliers() -> None:
    rng = np.random.default_rng(3)
    n = 20000
    kind = rng.choice(["complier", "always", "never"], n, p=[0.5, 0.2, 0.3])
    z = rng.binomial(1, 0.5, n)
    d = np.where(kind == "always", 1, np.where(kind == "never", 0, z)).astype(float)
    effect = np.select([kind == "complier", kind == "always"], [1.0, 4.0], 0.0)
    y = 2 * (kind == "always") + effect * d + rng.normal(size=n)
    frame = pd.DataFrame({"y": y, "d": d, "z": z.astype(float)})
    r = iv(frame, Design("d", "y", "ate", (), options={"instrument": ("z",)}), None)
    assert r.estimand == "late" and r.estimate.label.startswith("LATE")
    assert r.estimate.covers(1.0)  # the compliers' effect, not the ATE (1·0.5 + 4·0.2 = 1.3)
    assert not r.estimate.covers(1.3)
    assert any("local average treatment effect" in c.message for c in r.checks)
    att = iv(frame, Design("d", "y", "att", (), options={"instrument": ("z",)}), None)
    assert any("asks for the ATT, but IV gives the LATE" in m for m in att.warnings)
    # one-sided noncompliance: nobody with z = 0 is treated, so LATE = ATT
    d1 = np.where(kind == "complier", z, 0).astype(float)
    one = iv(frame.assign(d=d1), Design("d", "y", "att", (), options={"instrument": ("z",)}),
             None)
    assert any(c.level == "ok" and "equals the LATE" in c.message for c in one.checks)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def test_bad_designs_are_clear_errors() -> None:
    frame = endogenous()
    cases = [
        (design(()), "E508", "needs an instrument"),
        (design(("w",)), "E508", "both an instrument and a covariate"),
        (design(("d",)), "E508", "cannot instrument itself"),
        (design(se="HC5"), "E508", "unknown standard-error kind"),
        (design(se="cluster"), "E508", "needs a column to cluster on"),
    ]
    for dsg, code, text in cases:
        with pytest.raises(EstimationError) as info:
            iv(frame, dsg, None)
        assert info.value.diagnostics[0].code == code and text in str(info.value), text
    with pytest.raises(EstimationError) as info:
        iv(frame.assign(z1=2 * frame["w"] + 1), design(("z1",)), None)
    assert info.value.diagnostics[0].code == "E510"
    # an instrument with exactly no first stage: orthogonal to d by construction
    small = pd.DataFrame({"y": [1.0, 2.0, 0.5, 3.0, 1.5, 2.5], "d": [1.0, 1, 0, 0, 1, 0],
                          "z": [1.0, -1, 1, -1, 0, 0]})
    with pytest.raises(EstimationError) as info:
        iv(small, Design("d", "y", "ate", (), options={"instrument": ("z",)}), None)
    assert info.value.diagnostics[0].code == "E520"


# --------------------------------------------------------------------------------------------
# the graph: which missing arrows carry the design
# --------------------------------------------------------------------------------------------
def test_instrument_arrows_of_a_conditional_instrument() -> None:
    g = nx.DiGraph([("w", "z"), ("w", "y"), ("z", "d"), ("d", "y"), ("u", "d"), ("u", "y")])
    assert not is_instrument(g, "z", "d", "y")
    assert is_instrument(g, "z", "d", "y", {"w"})
    a = instrument_arrows(g, {"u"}, "z", "d", "y", given={"w"})
    assert "z -> y" in a.exclusion and "z -> u" in a.exclusion
    assert {"u -> z", "y <-> z"} <= set(a.independence)
    assert "w -> d" not in a.exclusion + a.independence  # harmless: w is conditioned on
    # every listed arrow really breaks the instrument, and no other single arrow does
    for arrow in a.exclusion + a.independence:
        s, kind, t = arrow.split()
        h = g.copy()
        h.add_edges_from([(s, t)] if kind == "->" else [("U", s), ("U", t)])
        assert not is_instrument(h, "z", "d", "y", {"w"}), arrow
    sentences = a.sentences("z")
    assert sentences[0].startswith("Exclusion restriction") and "z -> y" in sentences[0]


def test_is_instrument_agrees_with_identify() -> None:
    import causal_dsl

    text = """
    var z: continuous
    var w: continuous
    var d: continuous
    var y: continuous
    latent u
    w -> z -> d -> y
    w -> y
    u -> {d, y}
    """
    graph = causal_dsl.parse(text).graph()
    found = {(i.z, i.given) for i in graph.instruments("d", "y")}
    dag = nx.DiGraph([("w", "z"), ("z", "d"), ("d", "y"), ("w", "y"), ("u", "d"), ("u", "y")])
    for z, given in found:
        assert is_instrument(dag, z, "d", "y", given)
    assert ("z", frozenset({"w"})) in found


# --------------------------------------------------------------------------------------------
# a published estimate: Wooldridge, Introductory Econometrics, the mroz data
# --------------------------------------------------------------------------------------------
def _mroz_result(query: str) -> object:
    import causal_dsl
    from causal_dsl.data import load_data, prepare

    study = causal_dsl.load(ROOT / "examples" / "mroz.causal")
    q = study.query(query)
    opts = dict(q.method.options)
    frame = load_data(study)
    names = [q.treatment, q.outcome, *sorted(q.include), *opts["instrument"]]
    prep = prepare(study, frame, names)
    dsg = Design(q.treatment, q.outcome, q.estimand, tuple(sorted(q.include)), options=opts,
                 treatment_kind="continuous")
    return prep, iv(prep.frame, dsg, prep.extra)


def test_wooldridge_example_15_1_father_education() -> None:
    prep, r = _mroz_result("father")
    assert prep.report.rows_used == 428 and prep.report.rows_read == 753  # working women
    assert round(r.estimate.effect, 3) == 0.059  # printed: .059 (.035)
    assert round(r.estimate.se, 3) == 0.035


def test_wooldridge_example_15_5_both_parents() -> None:
    _, r = _mroz_result("parents")
    assert round(r.estimate.effect, 4) == 0.0614  # printed: .0614 (.0314)
    assert round(r.estimate.se, 4) == 0.0314
    assert round(r.detail("first_stage_f"), 2) == 55.40  # the joint test of both parents
    stat, df, p = r.detail("overid_sargan")  # Example 15.8: nR² = .378, p = .539
    assert (round(stat, 3), df, round(p, 3)) == (0.378, 1, 0.539)
