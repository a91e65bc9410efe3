"""Callaway & Sant'Anna (2021) for staggered adoption (`causal_dsl.estimators.staggered`).

Checked three ways: a panel small enough to compute by hand (exact); simulated panels whose
effects grow with exposure, where the interval covers the true overall ATT while static TWFE
misses it; and the independent Python port of the R package, `csdid`, on the same panels
(point estimates to 1e-9; analytic standard errors to 1e-7 relative, since both compute the
same influence function; the multiplier bootstrap only to 15%, because its IQR-based SE is a
Monte Carlo estimate with about 4% error at 999 draws). Finally the published `mpdta` numbers.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from causal_dsl.errors import CausalError
from causal_dsl.estimators import ESTIMATORS, Design
from causal_dsl.estimators.staggered import callaway_santanna

DESIGN = Design("d", "y", "att", unit="u", time="t")


def run(frame: pd.DataFrame, extra: pd.DataFrame, **options: object):  # type: ignore[no-untyped-def]
    design = Design("d", "y", str(options.pop("estimand", "att")), unit="u", time="t",
                    options=options, cluster=options.pop("cluster", None),  # type: ignore[arg-type]
                    seed=7)
    return callaway_santanna(frame, design, extra)


def cells(result) -> dict[tuple[int, int], tuple[float, float]]:  # type: ignore[no-untyped-def]
    return {(r[0], r[1]): (r[3], r[4]) for r in result.table("group-time").rows}


# --------------------------------------------------------------------------------------------
# by hand
# --------------------------------------------------------------------------------------------
# five units, four periods: a and b adopt in period 2, c in period 3, e and f never
HAND_Y = {
    "a": [1.0, 2.0, 5.0, 7.0],
    "b": [2.0, 2.0, 4.0, 8.0],
    "c": [0.0, 1.0, 1.0, 4.0],
    "e": [1.0, 1.5, 2.0, 3.0],
    "f": [3.0, 3.5, 3.0, 5.0],
}
HAND_ADOPT = {"a": 2, "b": 2, "c": 3, "e": 99, "f": 99}


def hand_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    names = list(HAND_Y)
    u = np.repeat(np.arange(len(names)), 4)
    t = np.tile(np.arange(4), len(names))
    y = np.concatenate([HAND_Y[n] for n in names])
    d = (t >= np.array([HAND_ADOPT[n] for n in names])[u]).astype(float)
    return pd.DataFrame({"d": d, "y": y}), pd.DataFrame({"u": u, "t": t})


def test_hand_computed_group_time_effects_and_simple_aggregate() -> None:
    r = run(*hand_panel())
    att = {k: v[0] for k, v in cells(r).items()}
    # never-treated changes: e and f
    # cohort 2, period 2 (base 1): a +3, b +2 → 2.5; e +0.5, f −0.5 → 0
    assert att[(2, 2)] == pytest.approx(2.5 - 0.0, abs=1e-12)
    # cohort 2, period 3 (base 1): a +5, b +6 → 5.5; e +1.5, f +1.5 → 1.5
    assert att[(2, 3)] == pytest.approx(5.5 - 1.5, abs=1e-12)
    # cohort 2, period 1 (pre, base 0): a +1, b 0 → 0.5; e, f +0.5 → 0.5
    assert att[(2, 1)] == pytest.approx(0.0, abs=1e-12)
    # cohort 3, period 3 (base 2): c +3; e +1, f +2 → 1.5
    assert att[(3, 3)] == pytest.approx(3 - 1.5, abs=1e-12)
    # cohort 3, period 2 (pre, base 1): c 0; e +0.5, f −0.5 → 0
    assert att[(3, 2)] == pytest.approx(0.0, abs=1e-12)
    # simple: post cells weighted by cohort size (2, 2, 1)
    simple = (2 * 2.5 + 2 * 4.0 + 1 * 1.5) / 5
    assert r.estimate.effect == pytest.approx(simple, abs=1e-12)
    # group: cohort 2 averages (2.5 + 4) / 2, cohort 3 is 1.5; by size 2 : 1
    assert r.detail("att_group") == pytest.approx((2 * 3.25 + 1.5) / 3, abs=1e-12)
    # dynamic: e=0 → (2·2.5 + 1·1.5)/3, e=1 → 4.0; mean
    assert r.detail("att_dynamic") == pytest.approx(((5 + 1.5) / 3 + 4.0) / 2, abs=1e-12)
    # SE of ATT(2, 2): sqrt(Σ_G (ΔY − m1)² / n_g² + Σ_C (ΔY − m0)² / n_c²), ΔY from base 1
    se = np.sqrt((0.5**2 + 0.5**2) / 4 + (0.5**2 + 0.5**2) / 4)
    assert cells(r)[(2, 2)][1] == pytest.approx(se, abs=1e-12)


def test_hand_not_yet_treated_controls() -> None:
    r = run(*hand_panel(), control="notyet")
    att = {k: v[0] for k, v in cells(r).items()}
    # cohort 2 at period 2: controls are c (adopts in 3), e, f: changes 0, 0.5, −0.5 → 0
    assert att[(2, 2)] == pytest.approx(2.5, abs=1e-12)
    # cohort 2 at period 3: c is treated by then, so only e, f
    assert att[(2, 3)] == pytest.approx(4.0, abs=1e-12)
    # cohort 3 at period 2 (pre): controls e, f (cohort 2 is treated at 2)
    assert att[(3, 2)] == pytest.approx(0.0, abs=1e-12)
    assert r.detail("control") == "notyet"


# --------------------------------------------------------------------------------------------
# simulated truth
# --------------------------------------------------------------------------------------------
def simulate(
    units: int = 2000, periods: int = 8, cohorts: tuple[int, ...] = (2, 4, 6),
    never: float = 0.25, seed: int = 3, slope: float = 0.5, unbalanced: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, float, dict[int, float]]:
    """Effects 1 + slope·(exposure) that grow with time since adoption; unit effects correlated
    with adoption timing (so levels differ by cohort) and a common trend."""
    rng = np.random.default_rng(seed)
    probs = [never] + [(1 - never) / len(cohorts)] * len(cohorts)
    adopt = rng.choice([periods + 50, *cohorts], size=units, p=probs)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    alpha = rng.normal(size=units) + 0.3 * (adopt < periods)
    e = t - adopt[u]
    d = (e >= 0).astype(float)
    y = alpha[u] + 0.2 * t + np.sin(t) + d * (1 + slope * np.maximum(e, 0)) \
        + rng.normal(size=len(u))
    keep = np.ones(len(u), dtype=bool)
    if unbalanced:
        keep = rng.uniform(size=len(u)) > unbalanced
    frame = pd.DataFrame({"d": d, "y": y})[keep].reset_index(drop=True)
    extra = pd.DataFrame({"u": u, "t": t, "s": u % 40})[keep].reset_index(drop=True)
    # the estimand on the realised cohort sizes: post cells weighted by cohort share
    sizes = {g: int((adopt == g).sum()) for g in cohorts}
    num = sum(sizes[g] * (1 + slope * (s - g)) for g in cohorts for s in range(g, periods))
    den = sum(sizes[g] * (periods - g) for g in cohorts)
    by_e = {}
    for k in range(periods - min(cohorts)):
        gs = [g for g in cohorts if g + k < periods]
        by_e[k] = 1 + slope * k if gs else float("nan")
    return frame, extra, num / den, by_e


def test_interval_covers_truth_with_dynamic_effects_and_twfe_misses_it() -> None:
    frame, extra, truth, by_e = simulate()
    r = run(frame, extra)
    assert r.estimate.label == "ATT"
    assert r.estimate.ci_low <= truth <= r.estimate.ci_high, (r.estimate, truth)
    # the event study by exposure: each effect within 3 SE of 1 + 0.5·e (placebos: 0), a
    # simultaneous check over the 13 exposures (pointwise 95% would fail one by chance)
    for row in r.table("event study").rows:
        e, est, se = row[0], row[1], row[2]
        expected = by_e.get(e, 0.0) if e >= 0 else 0.0
        assert abs(est - expected) < 3 * se, (e, row, expected)
    twfe = ESTIMATORS["did"](frame, Design("d", "y", "att", unit="u", time="t",
                                           options={"event_study": False}), extra)
    assert not twfe.estimate.ci_low <= truth <= twfe.estimate.ci_high, (twfe.estimate, truth)
    assert twfe.estimate.effect < truth - 0.3
    # the decomposition shown with the estimate reproduces that TWFE and names the cause
    assert r.detail("twfe") == pytest.approx(twfe.estimate.effect, abs=1e-9)
    assert r.detail("bacon_forbidden_weight") > 0.1
    assert any("already-treated units as controls" in c.message and c.level == "warning"
               for c in r.checks)
    assert any(c.level == "ok" and "pre-test" in c.message for c in r.checks)


def test_not_yet_treated_also_covers_truth() -> None:
    frame, extra, truth, _ = simulate(seed=11)
    r = run(frame, extra, control="notyet")
    assert r.estimate.ci_low <= truth <= r.estimate.ci_high


def test_ate_query_is_labelled_att_with_a_note() -> None:
    r = run(*hand_panel(), estimand="ate")
    assert r.estimand == "att" and r.estimate.label == "ATT"
    assert any("ATT" in c.message and "not the ATE" in c.message for c in r.checks)


def test_headline_aggregation_option_and_the_output_says_which() -> None:
    frame, extra, _, _ = simulate(units=600)
    simple = run(frame, extra)
    group = run(frame, extra, aggregation="group")
    assert group.estimate.effect == pytest.approx(simple.detail("att_group"))
    assert 'aggte(type = "simple")' in simple.description
    assert any('aggte(type = "group")' in c.message for c in group.checks)


# --------------------------------------------------------------------------------------------
# against csdid (Python port of the R package did)
# --------------------------------------------------------------------------------------------
def _csdid(frame: pd.DataFrame, extra: pd.DataFrame, control: str, cluster: str | None = None,
           ) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    att_gt = pytest.importorskip("csdid.att_gt")
    d = frame["d"].to_numpy()
    u = extra["u"].to_numpy()
    t = extra["t"].to_numpy()
    first = pd.Series(np.where(d == 1, t, 10**6)).groupby(u).transform("min").to_numpy()
    # csdid's time and group codes start at 1 (0 means never treated)
    long = pd.DataFrame({"y": frame["y"], "t": t + 1, "u": u, "s": extra["s"],
                         "g": np.where(first < 10**6, first + 1, 0)})
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("ignore")
        m = att_gt.ATTgt(yname="y", tname="t", idname="u", gname="g", data=long,
                         control_group="nevertreated" if control == "never" else "notyettreated",
                         clustervar=cluster).fit(est_method="dr", bstrap=False)
        res = pd.DataFrame({"g": np.asarray(m.results["group"]) - 1,
                            "t": np.asarray(m.results["year"]) - 1,
                            "att": m.results["att"], "se": m.results["se"]})
        agg = {}
        for kind in ("simple", "group", "dynamic"):
            m.aggte(typec=kind, bstrap=False)
            agg[kind] = (float(m.atte["overall_att"]), float(m.atte["overall_se"]))
    return res, agg


@pytest.mark.parametrize(("control", "kwargs"), [
    ("never", {}),
    ("notyet", {}),
    ("never", {"never": 0.0}),  # no never-treated: the last cohort is the comparison
    ("notyet", {"never": 0.0}),
    ("never", {"unbalanced": 0.02}),  # units missing a period are dropped
])
def test_agrees_with_csdid(control: str, kwargs: dict[str, float]) -> None:
    frame, extra, _, _ = simulate(units=800, seed=5, **kwargs)  # type: ignore[arg-type]
    ref, agg = _csdid(frame, extra, control)
    r = run(frame, extra, control=control)
    ours = cells(r)
    assert len(ours) == len(ref)
    for g, t, a, s in ref.itertuples(index=False):
        assert ours[(int(g), int(t))][0] == pytest.approx(a, abs=1e-9)
        assert ours[(int(g), int(t))][1] == pytest.approx(s, rel=1e-7)
    for kind, (a, s) in agg.items():
        assert r.detail(f"att_{kind}") == pytest.approx(a, abs=1e-9)
        assert r.detail(f"se_{kind}") == pytest.approx(s, rel=1e-7)
    if kwargs.get("never") == 0.0:
        assert any("no never-treated units" in c.message for c in r.checks)
    if kwargs.get("unbalanced"):
        assert r.detail("dropped_unbalanced_units") > 0
        assert any("not observed in every period were dropped" in c.message for c in r.checks)


def test_clustered_standard_errors_agree_with_csdid() -> None:
    frame, extra, _, _ = simulate(units=800, seed=8)
    ref, agg = _csdid(frame, extra, "never", cluster="s")
    r = run(frame, extra, cluster="s")
    ours = cells(r)
    for g, t, _, s in ref.itertuples(index=False):
        assert ours[(int(g), int(t))][1] == pytest.approx(s, rel=1e-7)
    assert r.estimate.se == pytest.approx(agg["simple"][1], rel=1e-7)
    assert "clustered by s" in r.estimate.se_kind


def test_bootstrap_is_seeded_and_close_to_analytic() -> None:
    frame, extra, _, _ = simulate(units=1500, seed=2)
    analytic = run(frame, extra)
    boot = run(frame, extra, bootstrap=999)
    again = run(frame, extra, bootstrap=999)
    assert boot.estimate.se == again.estimate.se  # same seed, same draws
    assert boot.estimate.effect == analytic.estimate.effect
    assert boot.estimate.se == pytest.approx(analytic.estimate.se, rel=0.15)
    assert "multiplier bootstrap" in boot.estimate.se_kind


# --------------------------------------------------------------------------------------------
# published: mpdta (Callaway & Sant'Anna 2021; did's README and vignette)
# --------------------------------------------------------------------------------------------
def test_mpdta_reproduces_the_published_numbers() -> None:
    pytest.importorskip("moderndid")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "mpdta.py"
    spec = importlib.util.spec_from_file_location("mpdta_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    df = module.load()
    frame = pd.DataFrame({"d": df["min_wage_raised"].astype(float), "y": df["lemp"]})
    extra = pd.DataFrame({"u": pd.factorize(df["countyreal"], sort=True)[0],
                          "t": pd.factorize(df["year"], sort=True)[0]})
    r = callaway_santanna(frame, DESIGN, extra)
    assert round(r.estimate.effect, 4) == -0.0400  # aggte(type = "simple")
    assert round(r.detail("att_group"), 3) == -0.031  # README: group aggregation
    assert round(r.detail("att_dynamic"), 4) == -0.0772  # README: event-study aggregation
    # README's ATT(g, t) table (years 2003-2007 are periods 0-4)
    published = {(1, 1): -0.0105, (1, 2): -0.0704, (1, 3): -0.1373, (1, 4): -0.1008,
                 (3, 1): 0.0065, (3, 2): -0.0028, (3, 3): -0.0046, (3, 4): -0.0412,
                 (4, 1): 0.0305, (4, 2): -0.0027, (4, 3): -0.0311, (4, 4): -0.0261}
    ours = cells(r)
    for key, value in published.items():
        assert round(ours[key][0], 4) == value, key
    assert round(r.detail("pretrend_p"), 5) == 0.16812  # README's pre-test p-value


# --------------------------------------------------------------------------------------------
# refusals
# --------------------------------------------------------------------------------------------
def _code(fn) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(CausalError) as info:
        fn()
    return info.value.diagnostics[0].code


def test_refusals_have_codes() -> None:
    frame, extra = hand_panel()
    assert _code(lambda: run(frame, extra, control="sometimes")) == "E508"
    assert _code(lambda: run(frame, extra, aggregation="calendar")) == "E508"
    assert _code(lambda: run(frame, extra, bootstrap=1)) == "E508"
    off = frame.assign(d=np.where((extra["u"] == 0) & (extra["t"] == 3), 0.0, frame["d"]))
    assert _code(lambda: run(off, extra)) == "E530"
    assert _code(lambda: run(frame.assign(d=0.0), extra)) == "E505"
    dup = pd.concat([extra, extra.iloc[:1]], ignore_index=True)
    assert _code(lambda: run(pd.concat([frame, frame.iloc[:1]], ignore_index=True), dup)) == "E409"
    assert _code(lambda: run(frame.assign(y=frame["y"].replace(5.0, np.inf)), extra)) == "E406"
    no_panel = Design("d", "y", "att")
    assert _code(lambda: callaway_santanna(frame, no_panel, None)) == "E508"


def test_covariates_constant_within_units_noted_time_varying_refused() -> None:
    frame, extra = hand_panel()
    frame = frame.assign(size=extra["u"] * 1.0, season=extra["t"] * 1.0)
    r = callaway_santanna(frame, Design("d", "y", "att", ("size",), unit="u", time="t"), extra)
    assert any("size" in c.message and "constant within units" in c.message for c in r.checks)
    design = Design("d", "y", "att", ("season",), unit="u", time="t")
    with pytest.raises(CausalError) as info:
        callaway_santanna(frame, design, extra)
    assert info.value.diagnostics[0].code == "E508"
    assert "season" in info.value.diagnostics[0].message


def test_always_treated_units_are_dropped_with_a_note() -> None:
    frame, extra = hand_panel()
    extra2 = pd.concat([extra, pd.DataFrame({"u": [5] * 4, "t": range(4)})], ignore_index=True)
    frame2 = pd.concat([frame, pd.DataFrame({"d": [1.0] * 4, "y": [9.0] * 4})],
                       ignore_index=True)
    r = run(frame2, extra2)
    assert r.estimate.effect == pytest.approx(run(frame, extra).estimate.effect)
    assert r.detail("dropped_always_treated_units") == 1
